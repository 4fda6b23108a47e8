"""The step model: what to call, with which arguments, under which policy.

Every step kind is a :class:`Step`. A function step wraps a plain callable, which the
runner calls with the step's resolved arguments as keywords. Any other kind (compose, map,
switch, and engine, capability or parallel steps built elsewhere) supplies ``invoke``, an
async callable taking one :class:`StepCall` (the resolved arguments, a child context, the
attempt number and the runtime that runs nested work), and returns the step's result.
Retries, timeout, compensation, undo and ``where`` apply to every kind alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .._core.util import close_matches
from .policy import NO_RETRY, RetryPolicy
from .refs import InputRef, ResultRef
from .signature import Signature

if TYPE_CHECKING:
    from .._core.context import ExecutionContext
    from .._execution.executor import Executor
    from .._telemetry.bus import TelemetryBus
    from .definition import Workflow
    from .durable import Durable
    from .outcome import RunResult, StepRecord

__all__ = ["Runtime", "Step", "StepCall"]

# How the runner calls a step: 0 and 1 are a function's fast paths, 3 another kind's
# invoke without a timeout, 2 everything else.
FAST_ASYNC, FAST_SYNC, GENERAL, INVOKE = 0, 1, 2, 3
Pool = Literal["thread", "process"]
Invoke = Callable[["StepCall"], Awaitable[Any]]
Check = Callable[["Step"], Iterable[str]]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Runtime(Protocol):
    """What a run lends its steps for nested work: the executor, telemetry, the system."""

    executor: Executor
    telemetry: TelemetryBus
    system: Any
    journal: Durable | None

    async def arun(
        self,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        *,
        context: ExecutionContext,
        resume: RunResult | None = None,
        path: str = "",
    ) -> RunResult:
        """Run a nested workflow with the same executor, telemetry and options.

        ``path`` is the structural path of its steps' parent (``files[3]/``) in a journal.
        """


class StepCall:
    """One attempt of a step of a non-function kind, as its ``invoke`` sees it.

    ``context`` is a child of the run's context (deadline shortened by the step's timeout),
    made the first time it is read; ``run_context`` is the context it is made from. An
    invoke may pass ``run_context`` on instead where nothing could tell the two apart: they
    share the deadline (when the step has no timeout of its own), cancellation, run and
    state, and differ only in name, path and span.
    ``previous`` is the step's record from the run being resumed, on the first attempt of
    a resumed step. ``invoke`` may set ``provider`` (what served the step), ``fallback``
    (why that was not the preferred provider) and append the runs of nested workflows to
    ``children``; all land in the step's record. ``path`` is the step's structural path
    in the run (``files[3]/parse``), what a journal keys it by.
    """

    __slots__ = (
        "_context",
        "arguments",
        "attempt",
        "children",
        "fallback",
        "path",
        "previous",
        "provider",
        "run_context",
        "runtime",
        "step",
    )

    def __init__(
        self,
        step: Step,
        arguments: dict[str, Any],
        context: ExecutionContext | None,
        attempt: int,
        runtime: Runtime,
        previous: StepRecord | None = None,
        path: str = "",
        run_context: ExecutionContext | None = None,
    ) -> None:
        """``context`` the step's own, or None to have it made, when first read, as a child
        of ``run_context`` (for a step without a timeout: the deadline is the run's)."""
        if context is None and run_context is None:
            raise TypeError(f"step {step.name!r}: a StepCall needs a context or a run_context")
        self.path = path or step.name
        self.step = step
        self.arguments = arguments
        self._context = context
        self.run_context: ExecutionContext = run_context or context  # type: ignore[assignment]
        self.attempt = attempt
        self.runtime = runtime
        self.previous = previous
        self.provider: str | None = None
        self.fallback: str | None = None
        self.children: list[RunResult | None] = []

    @property
    def context(self) -> ExecutionContext:
        """The step's context: a child of the run's, named after the step, at its path."""
        context = self._context
        if context is None:
            context = self._context = self.run_context.child(name=self.step.name, path=self.path)
        return context

    @context.setter
    def context(self, value: ExecutionContext) -> None:
        self._context = value


def _optional_callable(step: str, what: str, value: object) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"step {step!r}: {what} must be callable or None, not {value!r}")


WaitFor = str | ResultRef | Iterable[str | ResultRef]


def _wait_names(step: str, wait_for: WaitFor) -> tuple[str, ...]:
    items = [wait_for] if isinstance(wait_for, (str, ResultRef)) else list(wait_for)
    names = []
    for item in items:
        if isinstance(item, ResultRef) and not item.path:
            names.append(item.step)
        elif isinstance(item, str) and item:
            names.append(item)
        else:
            raise TypeError(
                f"step {step!r}: wait_for takes step names (or result(name) references), "
                f"not {item!r}"
            )
    return tuple(dict.fromkeys(names))


def _pool(step: str, blocking: bool | str, is_async: bool, wants_context: bool) -> Pool | None:
    if blocking is False or blocking is None:
        return None
    if blocking is True:
        blocking = "thread"
    if blocking not in ("thread", "process"):
        raise ValueError(
            f"step {step!r}: blocking must be True, False, 'thread' or 'process', not {blocking!r}"
        )
    if is_async:
        raise TypeError(
            f"step {step!r}: an async function cannot be blocking; it already runs on the "
            "event loop (drop blocking=..., or make the function synchronous)"
        )
    if blocking == "process" and wants_context:
        raise TypeError(
            f"step {step!r}: a function that takes a context cannot run in another process; "
            "use blocking='thread' or drop the context parameter"
        )
    return "process" if blocking == "process" else "thread"


class Step:
    """One step of a workflow; immutable once built.

    Give ``fn`` for a function step, or ``invoke`` (with a ``kind`` name) for any other
    kind. ``arguments`` maps parameter names to references or literals. ``wait_for`` names
    steps to run after without taking their results. ``retry`` is a RetryPolicy (default:
    one attempt); ``timeout`` bounds each attempt in seconds. ``compensate(error, ...)``
    runs when the step fails for good and may return RetryStep() or ContinueWith(value);
    ``undo(result, ...)`` runs when a later failure rolls the run back; both may also take
    ``arguments``, ``context`` and ``step`` (and compensate ``attempt``) as keywords.
    ``where`` is a predicate over the step's arguments: when false the step is skipped.
    ``blocking`` (True, 'thread' or 'process') runs a sync function through the executor.
    ``nested`` lists the workflows the step runs, ``check`` adds kind-specific validation,
    ``label`` is the text a graph shows under the name.
    """

    __slots__ = (
        "arguments",
        "blocking",
        "check",
        "compensate",
        "compensate_signature",
        "description",
        "fn",
        "invoke",
        "is_async",
        "kind",
        "label",
        "mode",
        "name",
        "nested",
        "plain",
        "pool",
        "retry",
        "signature",
        "target",
        "timeout",
        "undo",
        "undo_signature",
        "undoable",
        "wait_for",
        "wants_context",
        "where",
        "where_signature",
    )

    name: str
    kind: str
    fn: Callable[..., Any] | None
    invoke: Invoke | None
    target: Callable[..., Any]
    is_async: bool
    arguments: Mapping[str, Any]
    wait_for: tuple[str, ...]
    retry: RetryPolicy
    timeout: float | None
    compensate: Callable[..., Any] | None
    compensate_signature: Signature | None
    undo: Callable[..., Any] | None
    undo_signature: Signature | None
    undoable: bool
    where: Callable[..., Any] | None
    where_signature: Signature | None
    blocking: bool
    pool: Pool
    description: str
    nested: tuple[Workflow, ...]
    check: Check | None
    label: str
    signature: Signature | None
    wants_context: bool
    plain: bool
    mode: int

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any] | None = None,
        *,
        invoke: Invoke | None = None,
        kind: str | None = None,
        arguments: Mapping[str, Any] | None = None,
        wait_for: WaitFor = (),
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        compensate: Callable[..., Any] | None = None,
        undo: Callable[..., Any] | None = None,
        where: Callable[..., Any] | None = None,
        blocking: bool | Pool = False,
        description: str = "",
        nested: Sequence[Workflow] = (),
        check: Check | None = None,
        label: str = "",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a step name must be a non-empty string, not {name!r}")
        if (fn is None) == (invoke is None):
            raise TypeError(f"step {name!r}: give exactly one of fn (a function) or invoke")
        for what, obj in (("fn", fn), ("invoke", invoke), ("compensate", compensate)):
            _optional_callable(name, what, obj)
        _optional_callable(name, "undo", undo)
        _optional_callable(name, "where", where)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(
                f"step {name!r}: retry must be a RetryPolicy, e.g. RetryPolicy(max_attempts=3), "
                f"not {retry!r}"
            )
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ValueError(f"step {name!r}: timeout must be seconds > 0 or None, not {timeout!r}")
        args = dict(arguments or {})
        for key in args:
            if not isinstance(key, str) or not key:
                raise TypeError(f"step {name!r}: argument names must be strings, not {key!r}")
        signature = Signature(fn) if fn is not None else None
        wants_context = signature is not None and signature.declares("context")
        if wants_context and "context" in args:
            raise ValueError(
                f"step {name!r}: 'context' is supplied by the runner; do not pass it as an argument"
            )
        is_async = signature is not None and signature.is_async
        pool = _pool(name, blocking, is_async, wants_context)
        self._init(
            name=name,
            fn=fn,
            invoke=invoke,
            target=fn if fn is not None else invoke,
            is_async=is_async,
            kind=kind or ("function" if fn is not None else "custom"),
            arguments=MappingProxyType(args) if args else _EMPTY,
            wait_for=_wait_names(name, wait_for),
            retry=retry or NO_RETRY,
            timeout=float(timeout) if timeout is not None else None,
            compensate=compensate,
            compensate_signature=Signature(compensate) if compensate is not None else None,
            undo=undo,
            undo_signature=Signature(undo) if undo is not None else None,
            where=where,
            where_signature=Signature(where) if where is not None else None,
            blocking=pool is not None,
            pool=pool or "thread",
            description=description,
            nested=tuple(nested),
            check=check,
            label=label,
            signature=signature,
            wants_context=wants_context,
            undoable=undo is not None or bool(nested),
        )
        # A plain step is a function called with its arguments alone, on the loop; without
        # a timeout the runner calls it on its fast path.
        plain = fn is not None and pool is None and not wants_context
        # A step of another kind (an engine, a capability, a nested workflow) without a
        # timeout has its invoke called straight from the runner's loop.
        if timeout is not None:
            mode = GENERAL
        elif plain:
            mode = FAST_ASYNC if is_async else FAST_SYNC
        else:
            mode = INVOKE if invoke is not None else GENERAL
        object.__setattr__(self, "plain", plain)
        object.__setattr__(self, "mode", mode)

    def _init(self, **values: Any) -> None:
        for key, val in values.items():
            object.__setattr__(self, key, val)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Step is immutable; build a new Step instead of setting {key!r}")

    def problems(self) -> list[str]:
        """What is wrong with this step on its own (not with the graph), one line each."""
        found = [f"step {self.name!r}: {msg}" for msg in self.check(self)] if self.check else []
        if self.signature is not None and self.fn is not None:
            found += _signature_problems(self.name, self.fn, self.signature, self.arguments)
        if self.where_signature is not None:
            missing = self.where_signature.required - set(self.arguments)
            found += [
                f"step {self.name!r}: its where predicate needs {m!r}, which is not one of the "
                f"step's arguments ({', '.join(map(repr, self.arguments)) or 'none'})"
                for m in sorted(missing)
            ]
        return found

    def references(self) -> list[tuple[str, InputRef | ResultRef]]:
        """Every (argument name, reference) pair of the step, in argument order."""
        from .refs import iter_refs

        return [(arg, ref) for arg, spec in self.arguments.items() for ref in iter_refs(spec)]

    def __repr__(self) -> str:
        return f"<Step {self.name!r} kind={self.kind}>"


def _signature_problems(
    name: str, fn: Callable[..., Any], sig: Signature, arguments: Mapping[str, Any]
) -> list[str]:
    label = getattr(fn, "__qualname__", None) or repr(fn)
    found = []
    for arg in arguments:
        if not sig.takes(arg):
            close = close_matches(arg, sorted(sig.names or ()))
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(f"step {name!r}: {label}() takes no argument {arg!r}{hint}")
    for need in sorted(sig.required - set(arguments) - {"context"}):
        found.append(
            f"step {name!r}: {label}() needs argument {need!r}, which the step does not pass"
        )
    return found
