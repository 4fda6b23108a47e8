"""The router: picks a provider for a capability, calls it, retries, falls back, cools down.

One request goes like this. The candidates are the capability's providers (engines,
workflows and hybrids alike) minus those cooling down (unless every one is: then all are
tried, "panic"). The strategy orders them; the first is called with the request's
timeout or the engine's, never past the context's deadline, holding the engine's
resources and a slot of its ``max_concurrency``. A failure is recorded; enough failures
in a row cool the provider down, and after the cooldown one probe call (half-open) decides
whether it is back. A failed attempt is retried, after an exponential backoff with jitter,
on the next provider in a fresh decision that avoids the ones that just failed, while the
attempts, the retry budget and the deadline allow. Then the explicit fallbacks are tried.
Every decision is a ``route.decision`` event with the candidates, their scores, the choice
and the reason.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import random

import attrs

from ._context import ExecutionContext
from ._executor import Call, Executor
from ._log import logger
from ._records import Engine, Provider, ProviderKind
from ._registry import Registry
from ._resources import Pool, ResourcePools
from ._routing import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    PriorityStrategy,
    ProviderStats,
    RouteRequest,
    RoutingStrategy,
)
from ._telemetry import TelemetryBus
from ._util import new_rng
from .exceptions import (
    AllProvidersFailed,
    ContextError,
    DeadlineExceeded,
    EngineError,
    EngineTimeout,
    PayloadError,
    ResourceError,
    UnknownCapabilityError,
    UnknownStrategyError,
)

__all__ = ["Decision", "Router", "RoutingPolicy"]

WorkflowRunner = Callable[[Any, Mapping[str, Any], ExecutionContext], Awaitable[Any]]


@attrs.frozen
class RoutingPolicy:
    """How the router retries, backs off and cools down; ``[routing]`` in the config.

    ``retries`` is the number of attempts after the first. The backoff before retry n is
    ``backoff * factor**(n-1)``, at most ``max_backoff``, with "full jitter" (a uniform
    draw between ``(1 - jitter)`` and 1 times that). ``retry_budget`` caps retries at that
    fraction of requests, plus ``min_retries_per_second``, so a failing dependency is not
    hammered with retries. ``cooldown_after`` consecutive failures cool a provider down for
    ``cooldown`` seconds, doubling on each repeated trip up to ``max_cooldown``.
    """

    strategy: str = "priority"
    capability_strategies: Mapping[str, str] = attrs.field(factory=dict)
    retries: int = 2
    backoff: float = 0.01
    factor: float = 2.0
    max_backoff: float = 1.0
    jitter: float = 1.0
    retry_budget: float = 0.2
    min_retries_per_second: float = 10.0
    cooldown_after: int = 5
    cooldown: float = 5.0
    max_cooldown: float = 60.0
    latency_tau: float = 10.0

    def strategy_for(self, capability: str) -> str:
        return self.capability_strategies.get(capability, self.strategy)


@attrs.frozen
class Decision:
    """One routing decision: the candidates, their scores, the order chosen, and why."""

    capability: str
    strategy: str
    candidates: tuple[str, ...]
    scores: Mapping[str, float | None]
    order: tuple[str, ...]
    reason: str
    cooled: tuple[str, ...] = ()
    stats: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    @property
    def choice(self) -> str:
        return self.order[0]

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        out["choice"] = self.choice
        out["scores"] = dict(self.scores)
        out["stats"] = {k: dict(v) for k, v in self.stats.items()}
        return out


class _RetryBudget:
    """A token bucket: each request adds ``ratio`` tokens, each retry takes one, and
    ``floor`` tokens per second trickle in so that a quiet system can still retry."""

    def __init__(self, ratio: float, floor: float) -> None:
        self.ratio, self.floor = ratio, floor
        self.cap = max(10.0, floor * 10)
        self.tokens = self.cap
        self._at = time.monotonic()

    def deposit(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.cap, self.tokens + self.ratio + (now - self._at) * self.floor)
        self._at = now

    def withdraw(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Router:
    """Routes capability requests to providers; one per system."""

    def __init__(
        self,
        *,
        registry: Registry,
        strategies: Mapping[str, RoutingStrategy],
        executor: Callable[[], Executor],
        telemetry: TelemetryBus,
        resources: ResourcePools,
        policy: RoutingPolicy | None = None,
        run_workflow: WorkflowRunner | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.registry = registry
        self.strategies = strategies
        self.telemetry = telemetry
        self.resources = resources
        self.policy = policy or RoutingPolicy()
        self._executor = executor
        self._run_workflow = run_workflow
        self._rng = rng or new_rng()
        self._stats: dict[str, ProviderStats] = {}
        self._limits: dict[str, Pool] = {}
        self._budget = _RetryBudget(self.policy.retry_budget, self.policy.min_retries_per_second)
        self._fallback = PriorityStrategy()
        self._strategy_failures: set[str] = set()

    # -- statistics -----------------------------------------------------------------------

    def stats(self, name: str) -> ProviderStats:
        """The live statistics of a provider (created on first use)."""
        found = self._stats.get(name)
        if found is None:
            provider = self.registry.get(name)
            limit = getattr(provider.target, "max_concurrency", None) if provider else None
            found = self._stats[name] = ProviderStats(limit, tau=self.policy.latency_tau)
        return found

    @property
    def all_stats(self) -> Mapping[str, ProviderStats]:
        return self._stats

    # -- deciding -------------------------------------------------------------------------

    def strategy(self, name: str | None, capability: str) -> RoutingStrategy:
        """The strategy called ``name`` (default: the policy's for ``capability``)."""
        wanted = name or self.policy.strategy_for(capability)
        found = self.strategies.get(wanted)
        if found is None:
            raise UnknownStrategyError(wanted, list(self.strategies))
        return found

    def decide(
        self,
        capability: str,
        payload: Any = None,
        context: ExecutionContext | None = None,
        *,
        strategy: str | RoutingStrategy | None = None,
        providers: Sequence[str] | None = None,
        avoid: Sequence[str] = (),
    ) -> Decision:
        """Order the providers of ``capability`` for one attempt, and say why.

        Calls nothing; the decision includes each candidate's statistics.
        """
        chosen = (
            strategy
            if not isinstance(strategy, (str, type(None)))
            else (self.strategy(strategy, capability))
        )
        choice = self._choose(capability, payload, context, chosen, providers, avoid)
        return choice.decision(self._stats_of(choice.everyone))

    def _choose(
        self,
        capability: str,
        payload: Any,
        context: ExecutionContext | None,
        strategy: RoutingStrategy,
        providers: Sequence[str] | None,
        avoid: Sequence[str],
    ) -> _Choice:
        everyone = self._candidates(capability, providers)
        now = time.monotonic()
        available = [p for p in everyone if self._available(p.name, now)]
        panic = not available
        if panic:
            available = list(everyone)
        request = RouteRequest(capability, payload, context, self._stats, self.resources)
        ordered, note = self._order(strategy, available, request)
        if avoid and len(ordered) > 1:
            # Untried first, then the one that failed longest ago; stable otherwise.
            last_failed = {name: i for i, name in enumerate(avoid)}
            ordered.sort(key=lambda s: last_failed.get(s[0].name, -1))
        return _Choice(capability, strategy.name, everyone, available, ordered, note, panic, avoid)

    def _stats_of(self, providers: Sequence[Provider]) -> dict[str, Mapping[str, Any]]:
        now = time.monotonic()
        return {p.name: self.stats(p.name).snapshot(now) for p in providers}

    def _candidates(self, capability: str, only: Sequence[str] | None) -> tuple[Provider, ...]:
        found = self.registry.require(capability)
        if only is not None:
            found = tuple(p for p in found if p.name in only)
            if not found:
                raise UnknownCapabilityError(capability, [n for n in only if n in self.registry])
        return found

    def _available(self, name: str, now: float) -> bool:
        s = self._stats.get(name)
        if s is None or s.state == CLOSED:
            return True
        if s.state == OPEN and now >= s.cooldown_until:
            s.state = HALF_OPEN
        return s.state == HALF_OPEN and not s.probing

    def _order(
        self, strategy: RoutingStrategy, candidates: list[Provider], request: RouteRequest
    ) -> tuple[list[tuple[Provider, float | None]], str]:
        try:
            result = strategy.order(candidates, request)
            ordered = _normalise(result, candidates)
        except Exception as exc:  # noqa: BLE001 - a broken strategy must not break routing
            note = f"strategy {strategy.name!r} failed ({type(exc).__name__}: {exc}); used priority"
            self._report_strategy(strategy.name, note)
            fallback = self._fallback.order(candidates, request)
            return [(p, s) for p, s in fallback], note  # type: ignore[misc]
        return ordered, ""

    def _report_strategy(self, name: str, note: str) -> None:
        if name not in self._strategy_failures:
            self._strategy_failures.add(name)
            logger.warning(note)

    # -- executing ------------------------------------------------------------------------

    async def aexecute(
        self,
        capability: str,
        payload: Any = None,
        context: ExecutionContext | None = None,
        *,
        strategy: str | None = None,
        providers: Sequence[str] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        fallbacks: Sequence[str] = (),
    ) -> Any:
        """Get ``capability`` served for ``payload``; see the module docstring for how.

        ``providers`` restricts the candidates to those names; ``fallbacks`` are
        capabilities or provider names tried in order when every attempt failed.
        Raises :class:`AllProvidersFailed` naming every attempt.
        """
        value, _ = await self.aroute(
            capability, payload, context, strategy=strategy, providers=providers,
            timeout=timeout, retries=retries, fallbacks=fallbacks,
        )  # fmt: skip
        return value

    async def aroute(
        self,
        capability: str,
        payload: Any = None,
        context: ExecutionContext | None = None,
        *,
        strategy: str | None = None,
        providers: Sequence[str] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        fallbacks: Sequence[str] = (),
    ) -> tuple[Any, str]:
        """Like :meth:`aexecute`, returning ``(value, name of the provider that served)``."""
        ctx = context or ExecutionContext.root(name=capability)
        chosen = self.strategy(strategy, capability)
        attempts: list[tuple[str, BaseException]] = []
        try:
            return await self._attempts(
                capability, payload, ctx, chosen, providers, timeout, retries, attempts
            )
        except _Exhausted as stop:
            why = stop.why
        for fallback in fallbacks:
            try:
                return await self._fallback_call(fallback, payload, ctx, timeout)
            except ContextError:
                raise
            except AllProvidersFailed as exc:
                attempts.extend(exc.attempts)
            except Exception as exc:  # noqa: BLE001 - recorded; the next fallback is tried
                attempts.append((fallback, exc))
        error = AllProvidersFailed(capability, attempts, why)
        raise error from attempts[-1][1] if attempts else None

    async def _attempts(
        self,
        capability: str,
        payload: Any,
        ctx: ExecutionContext,
        strategy: RoutingStrategy,
        providers: Sequence[str] | None,
        timeout: float | None,
        retries: int | None,
        attempts: list[tuple[str, BaseException]],
    ) -> tuple[Any, str]:
        policy = self.policy
        allowed = 1 + (policy.retries if retries is None else retries)
        self._budget.deposit()
        failed: list[str] = []
        for attempt in range(1, allowed + 1):
            ctx.check()
            choice = self._choose(capability, payload, ctx, strategy, providers, failed)
            if self.telemetry.enabled:
                self._emit_decision(choice.decision(), ctx, attempt)
            provider = choice.ordered[0][0]
            try:
                value = await self.call(
                    provider, payload, ctx, timeout=timeout, capability=capability, attempt=attempt
                )
            except (ContextError, ResourceError, PayloadError):
                raise
            except Exception as exc:  # noqa: BLE001 - every provider error is an attempt
                attempts.append((provider.name, exc))
                failed.append(provider.name)
            else:
                return value, provider.name
            if attempt == allowed:
                break
            if not self._budget.withdraw():
                raise _Exhausted("retry budget exhausted")
            delay = self._backoff(attempt)
            left = ctx.remaining()
            if left is not None and left <= delay:
                raise _Exhausted("the deadline leaves no time for another attempt")
            await asyncio.sleep(delay)
        raise _Exhausted("")

    def _backoff(self, attempt: int) -> float:
        p = self.policy
        base = min(p.max_backoff, p.backoff * p.factor ** (attempt - 1))
        return base * (1 - p.jitter * self._rng.random())

    async def _fallback_call(
        self, target: str, payload: Any, ctx: ExecutionContext, timeout: float | None
    ) -> tuple[Any, str]:
        """A fallback names a provider (called directly) or a capability (routed)."""
        provider = self.registry.get(target)
        if provider is not None:
            value = await self.call(provider, payload, ctx, timeout=timeout, capability=None)
            return value, provider.name
        return await self.aroute(target, payload, ctx, timeout=timeout)

    async def call(
        self,
        provider: Provider,
        payload: Any,
        context: ExecutionContext,
        *,
        timeout: float | None = None,
        capability: str | None = None,
        attempt: int = 1,
    ) -> Any:
        """Call one provider once: resources, concurrency slot, timeout, stats, events."""
        stats = self.stats(provider.name)
        if stats.state == HALF_OPEN:
            stats.probing = True
        target = provider.target
        needs = getattr(target, "resources", None) or {}
        self.resources.check(needs, owner=f"{provider.kind} {provider.name!r}")
        ctx = context.child(name=provider.name)
        emit = self.telemetry.enabled
        started = served = time.monotonic()
        stats.begin(started)
        error: BaseException | None = None
        try:
            async with self._hold(needs, provider, ctx):
                served = time.monotonic()
                if emit:
                    self.telemetry.emit(
                        "engine.call.start",
                        ctx,
                        provider=provider.name,
                        capability=capability,
                        attempt=attempt,
                        kind=provider.kind.value,
                    )
                return await self._invoke(provider, payload, ctx, timeout)
        except BaseException as exc:
            error = exc
            raise
        finally:
            now = time.monotonic()
            stats.end(started)
            # Latency is service time: a wait for a slot or a resource is not the
            # provider's slowness (the strategies account for queueing separately). A bad
            # payload is the caller's fault: not held against the provider's health.
            self._settle(stats, now - served, error is None or isinstance(error, PayloadError), now)
            if emit:
                outcome = {} if error is None else {"error": f"{type(error).__name__}: {error}"}
                self.telemetry.emit(
                    "engine.call.stop",
                    ctx,
                    provider=provider.name,
                    duration=now - started,
                    capability=capability,
                    attempt=attempt,
                    outcome="ok" if error is None else "error",
                    **outcome,
                )

    def _hold(
        self, needs: Mapping[str, float], provider: Provider, ctx: ExecutionContext
    ) -> AbstractAsyncContextManager[None]:
        """The resources and concurrency slot a call holds (nothing to hold: no work)."""
        limit = self._limit(provider)
        if not needs and limit is None:
            return _NOTHING
        return self.resources.hold(needs, extra=limit, on_wait=self._wait_reporter(ctx, provider))

    def _settle(self, stats: ProviderStats, seconds: float, ok: bool, now: float) -> None:
        stats.record(seconds, ok, now)
        p = self.policy
        if stats.state == HALF_OPEN:
            stats.probing = False
            if ok:
                stats.state = CLOSED
                return
        if not ok and (stats.state == HALF_OPEN or stats.consecutive_failures >= p.cooldown_after):
            trips = max(1, stats.consecutive_failures - p.cooldown_after + 1)
            stats.state = OPEN
            stats.cooldown_until = now + min(p.max_cooldown, p.cooldown * 2 ** (trips - 1))

    def _limit(self, provider: Provider) -> Pool | None:
        limit = getattr(provider.target, "max_concurrency", None)
        if not limit:
            return None
        pool = self._limits.get(provider.name)
        if pool is None:
            pool = self._limits[provider.name] = Pool(f"~concurrency:{provider.name}", limit)
        return pool

    def _wait_reporter(
        self, ctx: ExecutionContext, provider: Provider
    ) -> Callable[[str, float, float], None] | None:
        if not self.telemetry.enabled:
            return None

        def report(pool: str, amount: float, seconds: float) -> None:
            self.telemetry.emit(
                "resource.wait",
                ctx,
                provider=provider.name,
                pool=pool,
                amount=amount,
                duration=seconds,
            )

        return report

    async def _invoke(
        self, provider: Provider, payload: Any, ctx: ExecutionContext, timeout: float | None
    ) -> Any:
        limit = _earliest(timeout, getattr(provider.target, "timeout", None))
        left = ctx.remaining()
        bounded_by_deadline = left is not None and (limit is None or left < limit)
        if bounded_by_deadline:
            limit = left
        work = self._start(provider, payload, ctx)
        if limit is None:
            return await work
        try:
            return await asyncio.wait_for(work, limit)
        except asyncio.TimeoutError:
            if bounded_by_deadline:
                raise DeadlineExceeded(
                    f"the deadline passed while {provider.name!r} was working"
                ) from None
            raise EngineTimeout(provider.name, limit) from None

    def _start(self, provider: Provider, payload: Any, ctx: ExecutionContext) -> Awaitable[Any]:
        if provider.kind is ProviderKind.ENGINE:
            return self._engine_call(provider.target, payload, ctx)
        if self._run_workflow is None:
            raise EngineError(provider.name, "workflows cannot be run by this router")
        inputs = bind_payload(provider.name, getattr(provider.target, "inputs", ()), payload)
        return self._run_workflow(provider.target, inputs, ctx)

    async def _engine_call(self, engine: Engine, payload: Any, ctx: ExecutionContext) -> Any:
        handler, mode = engine.handler, engine.context_mode
        args: tuple[Any, ...] = (payload, ctx) if mode == "positional" else (payload,)
        kwargs = {"context": ctx} if mode == "keyword" else {}
        if engine.is_async:
            return await handler(*args, **kwargs)
        if engine.blocking:
            where = "process" if engine.process else "thread"
            key = engine.affinity_key
            affinity = payload.get(key) if key and isinstance(payload, Mapping) else None
            call = Call(handler, args, kwargs, where=where, affinity=_hashable(affinity))  # type: ignore[arg-type]
            result = await self._executor().asubmit(call)
        else:
            result = handler(*args, **kwargs)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise EngineError(
                engine.name,
                "its handler is a plain function that returned an awaitable; declare the "
                "handler with 'async def' so it is awaited on the event loop",
            )
        return result

    def _emit_decision(self, decision: Decision, ctx: ExecutionContext, attempt: int) -> None:
        if self.telemetry.enabled:
            self.telemetry.emit(
                "route.decision",
                ctx,
                provider=decision.choice,
                capability=decision.capability,
                strategy=decision.strategy,
                candidates=list(decision.candidates),
                scores=dict(decision.scores),
                choice=decision.choice,
                reason=decision.reason,
                attempt=attempt,
            )


_NOTHING = nullcontext()


class _Choice:
    """The raw outcome of one routing decision; a :class:`Decision` is made from it only
    when someone looks (an event, ``explain``), to keep the request path lean."""

    __slots__ = (
        "available",
        "avoid",
        "capability",
        "everyone",
        "note",
        "ordered",
        "panic",
        "strategy",
    )  # fmt: skip

    def __init__(
        self,
        capability: str,
        strategy: str,
        everyone: tuple[Provider, ...],
        available: list[Provider],
        ordered: list[tuple[Provider, float | None]],
        note: str,
        panic: bool,
        avoid: Sequence[str],
    ) -> None:
        self.capability, self.strategy, self.everyone = capability, strategy, everyone
        self.available, self.ordered, self.note = available, ordered, note
        self.panic, self.avoid = panic, avoid

    def decision(self, stats: Mapping[str, Mapping[str, Any]] | None = None) -> Decision:
        cooled = tuple(p.name for p in self.everyone if p not in self.available)
        return Decision(
            capability=self.capability,
            strategy=self.strategy,
            candidates=tuple(p.name for p in self.everyone),
            scores={p.name: s for p, s in self.ordered},
            order=tuple(p.name for p, _ in self.ordered),
            reason=_reason(self.strategy, self.ordered, self.note, self.panic, cooled, self.avoid),
            cooled=cooled,
            stats=stats or {},
        )


class _Exhausted(Exception):
    def __init__(self, why: str) -> None:
        self.why = why


def bind_payload(name: str, inputs: Sequence[str], payload: Any) -> dict[str, Any]:
    """The inputs a workflow provider gets from a request's payload.

    One input: the payload itself. Several: the payload must be a mapping holding them.
    None: nothing (the payload is ignored).
    """
    inputs = tuple(inputs)
    if not inputs:
        return {}
    if len(inputs) == 1:
        return {inputs[0]: payload}
    if not isinstance(payload, Mapping):
        raise EngineError(
            name,
            f"this workflow takes inputs {', '.join(inputs)}; send a mapping with those keys "
            f"as the payload, not {type(payload).__name__}",
        )
    missing = [i for i in inputs if i not in payload]
    if missing:
        raise EngineError(name, f"the payload lacks input(s) {', '.join(missing)}")
    return {i: payload[i] for i in inputs}


def _normalise(
    result: object, candidates: Sequence[Provider]
) -> list[tuple[Provider, float | None]]:
    if isinstance(result, (str, bytes)) or not isinstance(result, Sequence):
        raise TypeError(f"order() returned {type(result).__name__}, not a list")
    allowed = {id(p) for p in candidates}
    out: list[tuple[Provider, float | None]] = []
    for item in result:
        provider, score = item if isinstance(item, tuple) and len(item) == 2 else (item, None)
        if not isinstance(provider, Provider) or id(provider) not in allowed:
            raise TypeError(f"order() returned {provider!r}, which is not one of the candidates")
        out.append((provider, None if score is None else float(score)))
    if not out:
        raise ValueError("order() returned no candidate")
    return out


def _reason(
    strategy: str,
    ordered: Sequence[tuple[Provider, float | None]],
    note: str,
    panic: bool,
    cooled: Sequence[str],
    avoid: Sequence[str],
) -> str:
    first, score = ordered[0]
    parts = [note] if note else [f"{strategy} chose {first.name!r}"]
    if score is not None and not note:
        parts[0] += f" (score {score:.6g})"
    if panic:
        parts.append("every provider is cooling down, so all were tried (panic)")
    elif cooled:
        parts.append(f"cooling down: {', '.join(cooled)}")
    if avoid:
        parts.append(f"avoiding after failure: {', '.join(dict.fromkeys(avoid))}")
    return "; ".join(parts)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
