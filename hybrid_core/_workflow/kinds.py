"""Step kinds built on :class:`Step` with an ``invoke``: compose, map and switch.

Each kind is a small callable object taking a :class:`StepCall`; nested workflows run
through ``call.runtime.arun`` with a child context, so the deadline, the cancellation and
the executor reach them, and their runs land in the step's record (``children``), where a
rollback and a resume find them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .._execution.executor import Call
from ..exceptions import Cancelled, Halt, StepFailed
from .outcome import RunResult, RunStatus
from .refs import SKIPPED
from .signature import Signature, is_async
from .step import Step, StepCall

if TYPE_CHECKING:
    from .._core.context import ExecutionContext
    from .definition import Workflow

__all__ = ["Branch", "compose_step", "map_step", "switch_step"]

OVER = "over"
ON = "on"


def outcome(result: RunResult) -> Any:
    """A nested run's value; its halt or failure re-raised for the enclosing step."""
    if result.status is RunStatus.SUCCEEDED:
        return result.value
    if result.status is RunStatus.HALTED:
        raise Halt(result.halt_reason or f"workflow {result.name!r} halted")
    if result.error is not None:
        raise result.error
    raise Cancelled(f"workflow {result.name!r} was cancelled")


async def run_nested(
    call: StepCall,
    workflow: Workflow,
    inputs: Mapping[str, Any],
    keep: Callable[[RunResult], None],
    *,
    context: ExecutionContext | None = None,
    slot: int = 0,
    path: str = "",
) -> Any:
    """Run a nested workflow for ``call`` and return its value (or raise its failure).

    ``keep`` receives the nested run's result, even when the enclosing run cancels it
    midway; ``slot`` says which of the previous attempt's children it resumes; ``path``
    is the prefix of its steps' structural paths (default: the step's path and ``/``).
    """
    try:
        result = await call.runtime.arun(
            workflow,
            inputs,
            context=context or call.context,
            resume=_previous(call, slot, workflow),
            path=path or f"{call.path}/",
        )
    except asyncio.CancelledError as stop:
        so_far = getattr(stop, "run_result", None)
        if so_far is not None:
            keep(so_far)
        raise
    keep(result)
    return outcome(result)


def _previous(call: StepCall, k: int, workflow: Workflow) -> RunResult | None:
    prev = call.previous
    if prev is None or len(prev.children) <= k:
        return None
    child = prev.children[k]
    return child if child is not None and child.workflow is workflow else None


def _input_problems(
    workflow: Workflow, passed: set[str], *, what: str, exact: bool = True
) -> list[str]:
    found = [
        f"{what} {workflow.name!r} needs input {name!r}, which the step does not pass"
        for name in workflow.inputs
        if name not in passed and name not in workflow.defaults
    ]
    if exact:
        known = ", ".join(map(repr, workflow.inputs)) or "none"
        found += [
            f"passes {name!r}, which {what} {workflow.name!r} does not take (its inputs: {known})"
            for name in sorted(passed - set(workflow.inputs))
        ]
    return found


def _free_inputs(workflow: Workflow, passed: set[str]) -> list[str]:
    """The inputs a step leaves open: those with no default, else every one not passed."""
    open_ = [n for n in workflow.inputs if n not in passed]
    required = [n for n in open_ if n not in workflow.defaults]
    return required or open_


class _Compose:
    __slots__ = ("workflow",)

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    async def __call__(self, call: StepCall) -> Any:
        return await run_nested(call, self.workflow, call.arguments, call.children.append)

    def check(self, step: Step) -> list[str]:
        return _input_problems(self.workflow, set(step.arguments), what="workflow")


def compose_step(name: str, workflow: Workflow, **options: Any) -> Step:
    """A step that runs ``workflow`` as a whole; the step's arguments are its inputs."""
    kind = _Compose(workflow)
    return Step(
        name,
        invoke=kind,
        kind="compose",
        nested=(workflow,),
        check=kind.check,
        label=f"compose {workflow.name}",
        **options,
    )


async def _join(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for every task; on the first error (or our own cancellation) cancel the rest."""
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    # Retrieve every failure, not just the one raised: several elements can fail in the
    # same turn of the loop, and an unretrieved one is logged when its task is collected.
    errors = [task.exception() for task in tasks if task.done() and not task.cancelled()]
    for error in errors:
        if error is not None:
            raise error


class _Map:
    __slots__ = (
        "blocking",
        "concurrency",
        "fn",
        "is_async",
        "item",
        "keep_runs",
        "name",
        "workflow",
    )

    def __init__(
        self,
        name: str,
        *,
        fn: Callable[..., Any] | None,
        workflow: Workflow | None,
        item: str | None,
        concurrency: int | None,
        blocking: bool,
        keep_runs: bool = True,
    ) -> None:
        self.keep_runs = keep_runs
        self.name = name
        self.fn = fn
        self.workflow = workflow
        self.item = item
        self.concurrency = concurrency
        self.blocking = blocking
        # An element is called with the element and the step's arguments as they are:
        # whether it is a coroutine function is all there is to know of it.
        self.is_async = fn is not None and is_async(fn)

    async def __call__(self, call: StepCall) -> Any:
        extra = dict(call.arguments)
        items = extra.pop(OVER)
        if items is SKIPPED:
            return SKIPPED
        items = list(items)
        results: list[Any] = [None] * len(items)
        children: list[RunResult | None] = [None] * len(items)
        halts: list[Halt] = []
        ids = iter(range(len(items)))

        async def pull() -> None:
            for idx in ids:
                if halts:
                    return
                try:
                    results[idx] = await self._one(call, idx, items[idx], extra, children)
                except Halt as halt:
                    halts.append(halt)

        limit = min(self.concurrency or len(items), len(items))
        telemetry = call.runtime.telemetry
        if telemetry.enabled:
            telemetry.emit(
                "step.elements", call.context, step=self.name, kind="map",
                elements=len(items), concurrency=limit,
            )  # fmt: skip
        try:
            if limit <= 1:
                await pull()
            else:
                await _join([asyncio.ensure_future(pull()) for _ in range(limit)])
        finally:
            if self.workflow is not None:
                call.children.extend(children)
        if halts:
            raise halts[0]
        return results

    async def _one(
        self,
        call: StepCall,
        idx: int,
        item: Any,
        extra: Mapping[str, Any],
        children: list[RunResult | None],
    ) -> Any:
        label = f"{self.name}[{idx}]"
        path = f"{call.path}[{idx}]"
        journal = call.runtime.journal
        done = journal.take(path) if journal is not None else None
        restored = done is not None
        if done is not None and self.workflow is None:
            return done[2]
        # An element run from the journal still goes through its nested run, where every
        # step is taken from the journal (nothing is called), so that a rollback finds it.
        try:
            if self.workflow is None:
                value = await self._call_fn(call, item, extra, path)
            else:
                assert self.item is not None
                keep = (
                    partial(children.__setitem__, idx)
                    if self.keep_runs
                    else partial(_keep_unfinished, children, idx)
                )
                value = await run_nested(
                    call,
                    self.workflow,
                    {**extra, self.item: item},
                    keep,
                    context=call.context.child(name=label, path=path),
                    slot=idx,
                    path=f"{path}/",
                )
            if journal is not None and not restored and self.workflow is None:
                # (a workflow element's steps are journaled: they are its outcome)
                journal.element(path, value)
            return value
        except Halt:
            raise
        except Exception as exc:
            raise StepFailed(label, attempts=1, cause=exc) from exc

    async def _call_fn(
        self, call: StepCall, item: Any, extra: Mapping[str, Any], path: str = ""
    ) -> Any:
        fn = self.fn
        assert fn is not None
        args: tuple[Any, ...] = (item,)
        kwargs = dict(extra)
        if self.item is not None:
            args, kwargs[self.item] = (), item
        if self.is_async:
            return await fn(*args, **kwargs)
        if self.blocking:
            key = f"{call.context.run_id}/{path or call.path}#{call.attempt}"
            return await call.runtime.executor.asubmit(Call(fn, args, kwargs, key=key))
        return fn(*args, **kwargs)

    def check(self, step: Step) -> list[str]:
        if self.workflow is None:
            return []
        passed = set(step.arguments) - {OVER}
        if self.item is None:
            free = _free_inputs(self.workflow, passed)
            return [
                f"cannot tell which input of workflow {self.workflow.name!r} takes each "
                f"element (inputs the step does not pass: {free}); give item='name'"
            ]
        return _input_problems(self.workflow, passed | {self.item}, what="workflow")


def map_step(
    name: str,
    *,
    over: Any,
    fn: Callable[..., Any] | None = None,
    workflow: Workflow | None = None,
    item: str | None = None,
    concurrency: int | None = None,
    blocking: bool = False,
    keep_runs: bool = True,
    arguments: Mapping[str, Any] | None = None,
    **options: Any,
) -> Step:
    """A step that runs ``fn`` or ``workflow`` once per element of ``over``, in order.

    At most ``concurrency`` elements run at once (no bound by default); the result is the
    list of their results in element order. ``fn`` gets the element as its first
    positional argument (or as the keyword ``item``) plus the step's other arguments; a
    workflow gets it as input ``item`` (default: its one input the step does not pass).
    ``keep_runs=False`` keeps the nested run of an element only when it did not succeed,
    so memory does not grow with the collection (a resume then reruns every element).
    """
    if (fn is None) == (workflow is None):
        raise TypeError(f"map step {name!r}: give a function or a workflow to run per element")
    if blocking and fn is not None and is_async(fn):
        raise TypeError(f"map step {name!r}: an async function cannot be blocking")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise ValueError(f"map step {name!r}: concurrency must be an int >= 1 or None")
    if workflow is not None and item is None:
        # The element goes to the one input the step's arguments leave open.
        free = _free_inputs(workflow, set(arguments or {}))
        item = free[0] if len(free) == 1 else None
    kind = _Map(
        name,
        fn=fn,
        workflow=workflow,
        item=item,
        concurrency=concurrency,
        blocking=blocking,
        keep_runs=keep_runs,
    )
    target = workflow.name if workflow is not None else getattr(fn, "__name__", "function")
    return Step(
        name,
        invoke=kind,
        kind="map",
        arguments={**(arguments or {}), OVER: over},
        nested=(workflow,) if workflow is not None else (),
        check=kind.check,
        label=f"map {target}",
        **options,
    )


async def restored_children(
    step: Step,
    arguments: Mapping[str, Any] | None,
    runtime: Any,
    context: ExecutionContext,
    path: str,
) -> list[RunResult]:
    """The nested runs of a step a resume took from the journal, rebuilt for a rollback.

    Each nested workflow runs again under its journaled path, where every step it had
    completed is taken from the journal, so nothing is called: what comes back holds the
    records and the completion order that undoing them needs.
    """
    journal = runtime.journal
    if journal is None or arguments is None:
        return []
    kind = step.invoke
    nested: list[tuple[Workflow, Mapping[str, Any], str]] = []
    if isinstance(kind, _Compose):
        nested.append((kind.workflow, arguments, f"{path}/"))
    elif isinstance(kind, _Map) and kind.workflow is not None and kind.item is not None:
        extra = dict(arguments)
        items = extra.pop(OVER)
        if items is not SKIPPED:
            for idx, item in enumerate(items):
                nested.append((kind.workflow, {**extra, kind.item: item}, f"{path}[{idx}]/"))
    elif isinstance(kind, _Switch):
        for wf in step.nested:
            prefix = f"{path}:{wf.name}/"
            if journal.under(prefix):
                nested.append((wf, {n: arguments[n] for n in wf.inputs if n in arguments}, prefix))
    # A cancelled context: a step the journal does not hold (undone before a crash) must
    # not run now; the rebuilt run starts nothing and rolls back what it took over.
    quiet = context.child(name=step.name)
    quiet.cancel(f"rebuilding the nested runs of step {path!r} to roll them back")
    runs = []
    for wf, inputs, prefix in nested:
        runs.append(await runtime.arun(wf, inputs, context=quiet, path=prefix))
    return runs


def _keep_unfinished(children: list[RunResult | None], idx: int, result: RunResult) -> None:
    if result.status is not RunStatus.SUCCEEDED:
        children[idx] = result


class Branch:
    """One branch of a switch: a workflow to run, or a function to call."""

    __slots__ = ("fn", "signature", "workflow")

    def __init__(
        self, *, workflow: Workflow | None = None, fn: Callable[..., Any] | None = None
    ) -> None:
        self.workflow = workflow
        self.fn = fn
        self.signature = Signature(fn) if fn is not None else None

    @property
    def label(self) -> str:
        if self.workflow is not None:
            return self.workflow.name
        return getattr(self.fn, "__name__", "function")


class _Switch:
    __slots__ = ("branches", "default", "name", "on", "on_signature")

    def __init__(
        self,
        name: str,
        on: Callable[..., Any] | None,
        branches: Mapping[Hashable, Branch],
        default: Branch | None,
    ) -> None:
        self.name = name
        self.on = on
        self.on_signature = Signature(on) if on is not None else None
        self.branches = dict(branches)
        self.default = default

    async def __call__(self, call: StepCall) -> Any:
        args = dict(call.arguments)
        key = await self._key(args)
        branch = self.branches.get(key, self.default)
        if branch is None:
            known = ", ".join(map(repr, self.branches)) or "none"
            raise LookupError(
                f"switch {self.name!r}: no branch for {key!r} and no default (branches: {known})"
            )
        if branch.workflow is not None:
            inputs = {n: args[n] for n in branch.workflow.inputs if n in args}
            return await run_nested(
                call,
                branch.workflow,
                inputs,
                call.children.append,
                path=f"{call.path}:{branch.workflow.name}/",
            )
        assert branch.fn is not None and branch.signature is not None
        value = branch.fn(**branch.signature.pick(args))
        return await value if branch.signature.is_async else value

    async def _key(self, args: dict[str, Any]) -> Any:
        if self.on is None:
            return args.pop(ON)
        assert self.on_signature is not None
        key = self.on(**self.on_signature.pick(args))
        return await key if self.on_signature.is_async else key

    def check(self, step: Step) -> list[str]:
        passed = set(step.arguments) - {ON}
        found = []
        if self.on_signature is not None:
            found += [
                f"the switch predicate needs {n!r}, which the step does not pass"
                for n in sorted(self.on_signature.required - passed)
            ]
        for key, branch in [*self.branches.items(), ("default", self.default)]:
            if branch is None:
                continue
            if branch.workflow is not None:
                found += _input_problems(
                    branch.workflow, passed, what=f"branch {key!r} workflow", exact=False
                )
            elif branch.signature is not None:
                found += [
                    f"branch {key!r} function needs {n!r}, which the step does not pass"
                    for n in sorted(branch.signature.required - passed)
                ]
        return found


def switch_step(
    name: str,
    *,
    on: Any,
    branches: Mapping[Hashable, Branch],
    default: Branch | None = None,
    arguments: Mapping[str, Any] | None = None,
    **options: Any,
) -> Step:
    """A step that runs one branch, chosen by ``on``; the other branches do not run.

    ``on`` is a reference or a literal (its value is the branch key), or a predicate called
    with the step's arguments it names, whose return value is the key. Without a matching
    branch the ``default`` runs; without a default the step fails.
    """
    predicate = on if callable(on) and not isinstance(on, type) else None
    args = dict(arguments or {})
    if predicate is None:
        args[ON] = on
    kind = _Switch(name, predicate, branches, default)
    shown = " | ".join(f"{k!r}: {b.label}" for k, b in branches.items())
    return Step(
        name,
        invoke=kind,
        kind="switch",
        arguments=args,
        nested=tuple(
            b.workflow
            for b in [*branches.values(), default]
            if b is not None and b.workflow is not None
        ),
        check=kind.check,
        label=f"switch {shown}",
        **options,
    )
