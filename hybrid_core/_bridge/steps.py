"""The bridge: engines and capabilities as workflow steps, workflows as providers.

Every step here is an ordinary workflow :class:`Step` whose ``invoke`` reaches the
running system through the run's runtime, so retries, timeouts, compensation, undo and
``where`` work on them exactly as on function steps. The step's arguments become the
request's payload: a step whose only argument is ``payload`` sends that value; any other
set of arguments is sent as a mapping of them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from .._core.records import Engine, Provider, freeze_capabilities
from .._core.registry import Registry
from .._routing.router import Router
from .._workflow import Step, StepCall, Workflow
from .._workflow.definition import _split
from ..exceptions import AllProvidersFailed, EngineError, SystemStateError

__all__ = [
    "Aggregate",
    "WorkflowProvider",
    "capability_step",
    "engine_step",
    "parallel_step",
    "workflow_provider",
]

Aggregate = str | Callable[..., Any]
AGGREGATES = ("all", "first", "quorum", "consensus")


def _payload(arguments: Mapping[str, Any]) -> Any:
    if len(arguments) == 1 and "payload" in arguments:
        return arguments["payload"]
    return dict(arguments)


def _router(call: StepCall) -> Router:
    """The router of the system running the step's workflow (which must be running)."""
    try:
        return call.runtime.system.router  # type: ignore[no-any-return]
    except AttributeError:  # no system: a workflow run on its own
        raise SystemStateError(
            f"step {call.step.name!r} needs a running Hybrid system to reach engines; run the "
            "workflow with system.arun(...) rather than on its own"
        ) from None


class _Pinned:
    """Invoke one named engine (or workflow provider) directly, without routing."""

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, call: StepCall) -> Awaitable[Any]:
        # Not a coroutine of its own: the router's call is what the step awaits.
        router = _router(call)
        provider = router.registry.get(self.target)
        if provider is None:
            close = router.registry.suggest_name(self.target)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise EngineError(
                self.target,
                f"is not registered{hint}; step {call.step.name!r} cannot call it "
                "('hybrid capabilities' lists what is installed)",
            )
        call.provider = provider.name
        # The step's own context only where the call could tell it from the run's.
        context = call.context if router.sees_context(provider) else call.run_context
        return router.call(provider, _payload(call.arguments), context)


class _Routed:
    """Route the request through the system's router."""

    __slots__ = ("capability", "fallbacks", "providers", "retries", "strategy", "with_provider")

    def __init__(
        self,
        capability: str,
        strategy: str | None,
        providers: Sequence[str] | None,
        fallbacks: Sequence[str],
        retries: int | None,
        with_provider: bool = False,
    ) -> None:
        self.capability, self.strategy, self.providers = capability, strategy, providers
        self.fallbacks, self.retries = tuple(fallbacks), retries
        self.with_provider = with_provider

    def __call__(self, call: StepCall) -> Awaitable[Any]:
        # Not a coroutine of its own: the router's request is what the step awaits, and it
        # writes who served into the call. The step's context is made if something reads it.
        routed = _router(call).route(
            self.capability, _payload(call.arguments), None, call, call, self.strategy,
            self.providers, None, self.retries, self.fallbacks,
        )  # fmt: skip
        return _with_provider(routed, call) if self.with_provider else routed


async def _with_provider(routed: Awaitable[Any], call: StepCall) -> dict[str, Any]:
    value = await routed
    return {"provider": call.provider, "result": value, "fallback": call.fallback}


def engine_step(name: str, engine: str | Engine, /, **kwargs: Any) -> Step:
    """A step pinned to one engine (by name, or the Engine a plugin registered).

    Keywords are the step's arguments (the payload) and step options (``retry``,
    ``timeout``, ``compensate``, ``undo``, ``where``, ``wait_for``, ``description``).
    """
    target = engine.name if isinstance(engine, Engine) else engine
    if not isinstance(target, str) or not target:
        raise TypeError(f"engine step {name!r}: engine must be a name or an Engine, not {engine!r}")
    options, arguments = _split(kwargs)
    return Step(name, invoke=_Pinned(target), kind="engine", arguments=arguments,
                label=f"engine {target}", **options)  # fmt: skip


def capability_step(
    name: str,
    capability: str,
    /,
    *,
    strategy: str | None = None,
    providers: Sequence[str] | None = None,
    fallbacks: Sequence[str] = (),
    route_retries: int | None = None,
    with_provider: bool = False,
    **kwargs: Any,
) -> Step:
    """A step routed at run time: any provider of ``capability`` may serve it.

    ``strategy`` picks the routing strategy (default: the system's for this capability);
    ``providers`` restricts the candidates; ``fallbacks`` (capabilities or provider names)
    are tried when routing exhausts its candidates; ``route_retries`` overrides the
    router's retries across providers. Step-level ``retry`` re-runs the whole routed step.
    ``with_provider=True`` makes the step's result ``{"provider": name, "result": value,
    "fallback": why}``, for dependants that must say which provider produced what (and,
    when it was not the preferred one, why: see :class:`~hybrid_core.Served`).
    """
    freeze_capabilities({capability: 0}, owner=f"capability step {name!r}")
    options, arguments = _split(kwargs)
    invoke = _Routed(capability, strategy, providers, fallbacks, route_retries, with_provider)
    return Step(name, invoke=invoke, kind="capability", arguments=arguments,
                label=f"capability {capability}", **options)  # fmt: skip


@attrs.frozen
class Consensus:
    """The most frequent equal result of a parallel step, and how many agreed."""

    value: Any
    votes: int
    of: int
    providers: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.votes / self.of if self.of else 0.0


class _Parallel:
    """Fan one request out to several providers at once and aggregate the answers."""

    __slots__ = ("aggregate", "capability", "providers", "quorum")

    def __init__(
        self,
        capability: str,
        providers: Sequence[str] | None,
        aggregate: Aggregate,
        quorum: int | None,
    ) -> None:
        self.capability, self.providers = capability, providers
        self.aggregate, self.quorum = aggregate, quorum

    async def __call__(self, call: StepCall) -> Any:
        router = _router(call)
        candidates = self._candidates(router.registry)
        payload = _payload(call.arguments)
        tasks: dict[str, asyncio.Future[Any]] = {
            p.name: asyncio.ensure_future(
                router.call(p, payload, call.context, capability=self.capability)
            )
            for p in candidates
        }
        call.provider = ",".join(tasks)
        try:
            return await self._gather(tasks, call)
        finally:
            await _cancel(tasks.values())

    def _candidates(self, registry: Registry) -> tuple[Provider, ...]:
        found: tuple[Provider, ...] = registry.require(self.capability)
        if self.providers is not None:
            found = tuple(p for p in found if p.name in self.providers)
            missing = [n for n in self.providers if n not in {p.name for p in found}]
            if missing:
                raise EngineError(
                    missing[0],
                    f"does not provide {self.capability!r}, so the parallel step cannot use it",
                )
        return found

    async def _gather(self, tasks: dict[str, asyncio.Future[Any]], call: StepCall) -> Any:
        agg, cap = self.aggregate, self.capability
        need = (
            {"first": 1, "quorum": self.quorum or 1}.get(agg, len(tasks))
            if isinstance(agg, str)
            else len(tasks)
        )
        done, errors = await _until(tasks, need)
        if isinstance(agg, str) and agg in ("first", "quorum"):
            if len(done) < need:
                why = "no provider succeeded" if agg == "first" else f"quorum of {need} not reached"
                raise AllProvidersFailed(cap, list(errors.items()), why)
            call.provider = ",".join(done)  # who answered, not who was asked
            return next(iter(done.values())) if agg == "first" else done
        if agg == "all":
            if errors:
                raise AllProvidersFailed(cap, list(errors.items()), "'all' needs every provider")
            return {name: done[name] for name in tasks}
        if agg == "consensus":
            return _consensus(cap, done, errors, order=list(tasks))
        assert callable(agg)  # a name was handled above; __init__ checked the rest
        outcome = agg(dict(done), dict(errors))
        return await outcome if inspect.isawaitable(outcome) else outcome


async def _until(
    tasks: dict[str, asyncio.Future[Any]], need: int
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Wait until ``need`` tasks succeeded or none is left; results in completion order."""
    done: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}
    names = {id(task): name for name, task in tasks.items()}
    pending = set(tasks.values())
    while pending and len(done) < need:
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            name = names[id(task)]
            error = asyncio.CancelledError() if task.cancelled() else task.exception()
            if error is not None:
                errors[name] = error
            else:
                done[name] = task.result()
    return done, errors


async def _cancel(tasks: Any) -> None:
    """Cancel what still runs and consume every outcome, so no task logs an unseen error."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _consensus(
    capability: str,
    done: Mapping[str, Any],
    errors: Mapping[str, BaseException],
    order: Sequence[str],
) -> Consensus:
    if not done:
        raise AllProvidersFailed(capability, list(errors.items()), "no provider succeeded")
    groups: list[tuple[Any, list[str]]] = []
    for name in order:  # priority order, so a tie goes to the best provider's answer
        if name not in done:
            continue
        for value, members in groups:
            if value == done[name]:
                members.append(name)
                break
        else:
            groups.append((done[name], [name]))
    best = Counter({i: len(m) for i, (_, m) in enumerate(groups)}).most_common(1)[0][0]
    value, members = groups[best]
    return Consensus(value, len(members), len(done), tuple(members))


def parallel_step(
    name: str,
    capability: str,
    /,
    *,
    providers: Sequence[str] | None = None,
    aggregate: Aggregate = "all",
    quorum: int | None = None,
    **kwargs: Any,
) -> Step:
    """A step that sends one request to several providers of ``capability`` at once.

    ``providers`` (default: every provider of the capability) and ``aggregate``:
    ``"all"`` (a mapping provider -> result; every one must succeed), ``"first"`` (the
    first success by completion time; the others are cancelled), ``"quorum"`` (the first
    ``quorum`` successes, as a mapping; the others are cancelled), ``"consensus"`` (a
    :class:`Consensus`: the most frequent equal result, its votes and share), or a
    function ``aggregate(results, errors)`` (sync or async) over the mappings of
    successes and failures by provider.
    """
    freeze_capabilities({capability: 0}, owner=f"parallel step {name!r}")
    if isinstance(aggregate, str) and aggregate not in AGGREGATES:
        raise ValueError(
            f"parallel step {name!r}: aggregate must be one of {', '.join(AGGREGATES)} "
            f"or a function, not {aggregate!r}"
        )
    if not isinstance(aggregate, str) and not callable(aggregate):
        raise TypeError(f"parallel step {name!r}: aggregate must be a name or a function")
    if aggregate == "quorum" and (
        isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1
    ):
        raise ValueError(f"parallel step {name!r}: aggregate='quorum' needs quorum=<int >= 1>")
    options, arguments = _split(kwargs)
    invoke = _Parallel(capability, providers, aggregate, quorum)
    label = f"parallel {capability} ({aggregate if isinstance(aggregate, str) else 'custom'})"
    return Step(name, invoke=invoke, kind="parallel", arguments=arguments, label=label,
                **options)  # fmt: skip


@attrs.frozen
class WorkflowProvider:
    """A workflow registered as a provider of capabilities, like an engine."""

    workflow: Workflow
    capabilities: Mapping[str, int]
    name: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.workflow.inputs


def workflow_provider(
    workflow: Workflow,
    *,
    capability: str | Mapping[str, int],
    priority: int = 10,
    name: str | None = None,
) -> WorkflowProvider:
    """Let ``workflow`` serve ``capability`` (or a capability -> priority mapping).

    Return it from a plugin's ``hybrid_workflows()`` or pass it to
    ``system.register(...)``. A routed request then runs the whole workflow with a child
    context; its payload becomes the workflow's single input, or its inputs when it is a
    mapping holding them.
    """
    if not isinstance(workflow, Workflow):
        raise TypeError(f"workflow_provider() takes a Workflow, not {workflow!r}")
    caps = {capability: priority} if isinstance(capability, str) else dict(capability)
    owner = f"workflow {workflow.name!r}"
    return WorkflowProvider(workflow, freeze_capabilities(caps, owner=owner),
                            name or workflow.name)  # fmt: skip


def needs(workflow: Workflow) -> list[tuple[str, str, str]]:
    """What ``workflow`` (and every workflow it nests) needs from the system.

    Returns ``(step, "capability" | "provider", name)`` triples, in definition order.
    """
    found: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def walk(wf: Workflow) -> None:
        if id(wf) in seen:
            return
        seen.add(id(wf))
        for step in wf.steps:
            invoke = step.invoke
            if isinstance(invoke, (_Routed, _Parallel)):
                found.append((step.name, "capability", invoke.capability))
                if isinstance(invoke, _Routed):
                    found.extend((step.name, "fallback", f) for f in invoke.fallbacks)
            elif isinstance(invoke, _Pinned):
                found.append((step.name, "provider", invoke.target))
            for nested in step.nested:
                walk(nested)

    walk(workflow)
    return found
