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

This module decides and retries; one call of one provider is :mod:`.call`, the policy
and the cooldown states are :mod:`.policy`, the decision record is :mod:`.decision`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import random

from .._core.context import ExecutionContext
from .._core.log import logger
from .._core.records import Provider
from .._core.registry import Registry
from .._core.resources import ResourcePools
from .._core.util import PLUGIN_FAULTS, new_rng, open_twin, reraise_interrupt
from .._execution.executor import Executor
from .._telemetry.bus import TelemetryBus
from ..exceptions import (
    AllProvidersFailed,
    ContextError,
    PayloadError,
    ResourceError,
    UnknownCapabilityError,
    UnknownStrategyError,
)
from .call import Caller, WorkflowRunner
from .decision import Choice, Decision, normalise
from .policy import RetryBudget, RoutingPolicy, backoff, is_available
from .strategies import CLOSED, PriorityStrategy, RouteRequest, RoutingStrategy

__all__ = ["Decision", "Router", "RoutingPolicy", "Served"]


class Served(NamedTuple):
    """What :meth:`Router.aserve` returns: the value, who served it, and why not another.

    ``fallback`` is ``None`` when the provider that served was the one preferred; otherwise
    it says why the request went past a provider of higher priority, for example
    ``"pyflakes failed (BrokenProcessPool)"`` or ``"pyflakes was cooling down"``.
    """

    value: Any
    provider: str
    fallback: str | None


_OpenRequest = open_twin(RouteRequest)  # made for every request: see open_twin
_new = object.__new__


class Router(Caller):
    """Routes capability requests to providers; one per system.

    Calling one provider once (``call``) and the live statistics (``stats``,
    ``all_stats``) come from :class:`~hybrid_core._routing.call.Caller`.
    """

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
        self._stats = {}
        self._limits = {}
        self._budget = RetryBudget(self.policy.retry_budget, self.policy.min_retries_per_second)
        self._fallback = PriorityStrategy()
        self._strategy_failures: set[str] = set()
        # capability -> (strategy, candidates, choice) of the last cacheable decision.
        self._orders: dict[str, tuple[RoutingStrategy, tuple[Provider, ...], Choice]] = {}
        # (capability, provider that served, why not the preferred one) -> requests, since
        # the system started; the keys name exception types, never messages, so they stay few.
        self.fallbacks: Counter[tuple[str, str, str]] = Counter()
        # Requests routed since the system started, and those refused for a reason that
        # is the configuration's (an unknown strategy), by message: when every request
        # was refused so, the run's result says nothing about the engines.
        self.requests = 0
        self.misconfigured: Counter[str] = Counter()

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
        cached = None if avoid else self._cached(capability, chosen, providers)
        choice = cached or self._choose(capability, payload, context, chosen, providers, avoid)
        return choice.decision(self._stats_of(choice.everyone))

    def _choose(
        self,
        capability: str,
        payload: Any,
        context: ExecutionContext | None,
        strategy: RoutingStrategy,
        providers: Sequence[str] | None,
        avoid: Sequence[str],
    ) -> Choice:
        """The choice the strategy makes (or the kept order, with ``avoid`` applied): the
        slow path, once :meth:`_cached` has found nothing to reuse."""
        everyone = self._candidates(capability, providers)
        stats = self._stats
        available: Sequence[Provider] = everyone
        for p in everyone:  # the common case: none is cooling down, nothing to work out
            found = stats.get(p.name)
            if found is not None and found.state != CLOSED:
                now = time.monotonic()
                available = [p for p in everyone if is_available(stats.get(p.name), now)]
                break
        panic = not available
        if panic:
            available = everyone
        # A strategy whose order depends on the candidates alone (``cacheable``) is asked
        # once per set of candidates: the registry makes a new tuple when they change. The
        # whole choice is kept too, for the requests that have nothing to avoid (_cached).
        reuse = available is everyone and not panic
        reuse = reuse and getattr(strategy, "cacheable", False) is True
        ordered: list[tuple[Provider, float | None]] | None = None
        note = ""
        if reuse:
            hit = self._orders.get(capability)
            if hit is not None and hit[0] is strategy and hit[1] is everyone:
                ordered = hit[2].ordered
        if ordered is None:
            request = _new(_OpenRequest)
            request.capability, request.payload, request.context = capability, payload, context
            request.stats, request.resources = stats, self.resources
            request.__class__ = RouteRequest
            ordered, note = self._order(strategy, list(available), request)
            if reuse and not note:
                kept = Choice(capability, strategy.name, everyone, everyone, ordered, "", False, ())
                self._orders[capability] = (strategy, everyone, kept)
        if avoid and len(ordered) > 1:
            ordered = _untried_first(ordered, avoid)  # a copy: a cached order stays as it is
        return Choice(capability, strategy.name, everyone, available, ordered, note, panic, avoid)

    def _cached(
        self, capability: str, strategy: RoutingStrategy, providers: Sequence[str] | None
    ) -> Choice | None:
        """The kept choice for ``capability``, while it still holds: the same strategy and
        candidates, none of them cooling down. None when the strategy must be asked."""
        hit = self._orders.get(capability)
        if hit is None or hit[0] is not strategy:
            return None
        if hit[1] is not self._candidates(capability, providers):
            return None
        stats = self._stats
        for p in hit[1]:
            found = stats.get(p.name)
            if found is not None and found.state != CLOSED:
                return None
        return hit[2]

    def _stats_of(self, providers: Sequence[Provider]) -> dict[str, Mapping[str, Any]]:
        now = time.monotonic()
        return {p.name: self.stats(p.name).snapshot(now) for p in providers}

    def _candidates(self, capability: str, only: Sequence[str] | None) -> tuple[Provider, ...]:
        found = self.registry.require(capability)
        if only is not None:
            found = tuple(p for p in found if p.name in only)
            if not found:
                raise UnknownCapabilityError(
                    capability,
                    [n for n in only if n in self.registry],
                    causes=self.registry.causes(capability),
                )
        return found

    def _order(
        self, strategy: RoutingStrategy, candidates: list[Provider], request: RouteRequest
    ) -> tuple[list[tuple[Provider, float | None]], str]:
        try:
            result = strategy.order(candidates, request)
            ordered = normalise(result, candidates)
        except PLUGIN_FAULTS as exc:  # a broken strategy must not break routing
            reraise_interrupt(exc)
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
        return await self.route(
            capability, payload, context, None, None, strategy=strategy, providers=providers,
            timeout=timeout, retries=retries, fallbacks=fallbacks,
        )  # fmt: skip

    async def aserve(
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
    ) -> Served:
        """Like :meth:`aexecute`, returning a :class:`Served`: the value, the provider that
        served it and, when that was not the preferred one, why."""
        into = _Into()
        value = await self.route(
            capability, payload, context, None, into, strategy=strategy, providers=providers,
            timeout=timeout, retries=retries, fallbacks=fallbacks,
        )  # fmt: skip
        return Served(value, into.provider, into.fallback)  # type: ignore[arg-type]

    def sees_context(self, provider: Provider) -> bool:
        """Whether a call of ``provider`` could tell the context it is given from another
        with the same deadline and cancellation: it can when telemetry is on (spans), and
        when ``provider.sees_context`` (a handler that takes a context, a workflow, a
        blocking engine)."""
        return self.telemetry.enabled or provider.sees_context

    async def route(  # noqa: PLR0915 - every routed request's path, inline on purpose
        self,
        capability: str,
        payload: Any,
        context: ExecutionContext | None,
        site: Site | None,
        into: Into | None,
        strategy: str | None = None,
        providers: Sequence[str] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        fallbacks: Sequence[str] = (),
    ) -> Any:
        """The attempts of one request; what :meth:`aexecute` and the steps run.

        The request's context is ``site.context`` when a site (a step's attempt) is given,
        else ``context``, else a root named after the capability; it is made only when
        something reads it (telemetry, a strategy that is asked, a provider that sees a
        context): until then ``context`` (a site's ``run_context``), which shares its
        deadline and cancellation, is what the checks read. ``into``, when given, gets the
        provider that served and the fallback note.
        """
        self.requests += 1
        # The request's context, once made; until then the checks read ``outer``.
        real = context if site is None else None
        outer = context if site is None else site.run_context
        # The attempts, inline: this is every routed request's path.
        policy = self.policy
        wanted = strategy or policy.capability_strategies.get(capability, policy.strategy)
        chosen = self.strategies.get(wanted)  # self.strategy(...), inline
        if chosen is None:
            try:
                chosen = self.strategy(strategy, capability)
            except UnknownStrategyError as exc:
                self.misconfigured[str(exc)] += 1
                raise
        allowed = 1 + (policy.retries if retries is None else retries)
        self._budget.pending += 1  # a deposit (RetryBudget.deposit), inline
        # Empty tuples until the first failure: most requests have none.
        attempts: Sequence[tuple[str, BaseException]] = ()
        failed: Sequence[str] = ()
        why = ""
        for attempt in range(1, allowed + 1):
            checked = real or outer
            if checked is not None:
                checked.check()
            choice = None if failed else self._cached(capability, chosen, providers)
            if choice is None:
                real = real or _context(site, capability)
                choice = self._choose(capability, payload, real, chosen, providers, failed)
            if self.telemetry.enabled:
                real = real or _context(site, capability)
                self._emit_decision(choice.decision(), real, attempt)
            provider = choice.ordered[0][0]
            if real is None and (self.telemetry.enabled or provider.sees_context):  # inline
                real = _context(site, capability)
            try:
                value = await self.call(
                    provider, payload, real or outer or _UNSEEN, timeout, capability, attempt
                )
            except (ContextError, ResourceError, PayloadError):
                raise
            except Exception as exc:  # noqa: BLE001 - every provider error is an attempt
                attempts = [*attempts, (provider.name, exc)]
                failed = [*failed, provider.name]
            else:
                note = None
                if failed or len(choice.available) < len(choice.everyone):
                    note = _fallback_note(choice, provider, attempts)
                    if note is not None:
                        self.fallbacks[capability, provider.name, note] += 1
                if into is not None:
                    into.provider, into.fallback = provider.name, note
                return value
            if attempt == allowed:
                break
            if not self._budget.withdraw():
                why = "retry budget exhausted"
                break
            delay = backoff(policy, attempt, self._rng)
            left = (real or outer or _UNSEEN).remaining()
            if left is not None and left <= delay:
                why = "the deadline leaves no time for another attempt"
                break
            await asyncio.sleep(delay)
        real = real or _context(site, capability)
        return await self._fallbacks(capability, payload, real, timeout, fallbacks,
                                     list(attempts), why, into)  # fmt: skip

    async def _fallbacks(
        self,
        capability: str,
        payload: Any,
        ctx: ExecutionContext,
        timeout: float | None,
        fallbacks: Sequence[str],
        attempts: list[tuple[str, BaseException]],
        why: str,
        into: Into | None,
    ) -> Any:
        """After every attempt failed: the explicit fallbacks in order, or the refusal."""
        for fallback in fallbacks:
            try:
                value, name = await self._fallback_call(fallback, payload, ctx, timeout)
            except ContextError:
                raise
            except AllProvidersFailed as exc:
                attempts.extend(exc.attempts)
            except Exception as exc:  # noqa: BLE001 - recorded; the next fallback is tried
                attempts.append((fallback, exc))
            else:
                failed = _failed_note(attempts, name) or f"every provider of {capability!r} failed"
                note = f"{failed}; fallback {fallback!r} served"
                self.fallbacks[capability, name, note] += 1
                if into is not None:
                    into.provider, into.fallback = name, note
                return value
        error = AllProvidersFailed(capability, attempts, why)
        raise error from attempts[-1][1] if attempts else None

    async def _fallback_call(
        self, target: str, payload: Any, ctx: ExecutionContext, timeout: float | None
    ) -> tuple[Any, str]:
        """A fallback names a provider (called directly) or a capability (routed)."""
        provider = self.registry.get(target)
        if provider is not None:
            value = await self.call(provider, payload, ctx, timeout=timeout, capability=None)
            return value, provider.name
        into = _Into()
        value = await self.route(target, payload, ctx, None, into, timeout=timeout)
        return value, into.provider  # type: ignore[return-value]

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


class Site(Protocol):
    """What a request is made for when a step makes it: a step's attempt (a StepCall)."""

    @property
    def run_context(self) -> ExecutionContext: ...

    @property
    def context(self) -> ExecutionContext: ...


class Into(Protocol):
    """Where a request's server is written: who served, and why not the preferred one."""

    provider: str | None
    fallback: str | None


class _Into:
    __slots__ = ("fallback", "provider")

    def __init__(self) -> None:
        self.provider: str | None = None
        self.fallback: str | None = None


# What a request made without a context is called with while nothing could read one:
# no deadline, never cancelled, never seen (``Router.sees_context``).
_UNSEEN = ExecutionContext.root(name="")


def _context(site: Site | None, capability: str) -> ExecutionContext:
    """The request's context, made when something reads it."""
    return site.context if site is not None else ExecutionContext.root(name=capability)


def _failed_note(attempts: Sequence[tuple[str, BaseException]], served: str) -> str:
    """``"a failed (ValueError), b failed (TimeoutError)"`` for providers other than ``served``."""
    last: dict[str, BaseException] = {}
    for name, error in attempts:
        if name != served:
            last[name] = error
    return ", ".join(f"{name} failed ({type(e).__name__})" for name, e in last.items())


def _fallback_note(
    choice: Choice, served: Provider, attempts: Sequence[tuple[str, BaseException]]
) -> str | None:
    """Why ``served`` served rather than a provider of higher priority, or ``None``."""
    rank = choice.everyone.index(served)
    above = choice.everyone[:rank]
    failed = {name for name, _ in attempts}
    cooled = [p.name for p in above if p not in choice.available and p.name not in failed]
    parts = [_failed_note(attempts, served.name)] if attempts else []
    if cooled:
        parts.append(f"{', '.join(cooled)} {'was' if len(cooled) == 1 else 'were'} cooling down")
    note = "; ".join(p for p in parts if p)
    return note or None


def _untried_first(
    ordered: list[tuple[Provider, float | None]], avoid: Sequence[str]
) -> list[tuple[Provider, float | None]]:
    """Untried first, then the one that failed longest ago; stable otherwise (a copy)."""
    last_failed = {name: i for i, name in enumerate(avoid)}
    return sorted(ordered, key=lambda s: last_failed.get(s[0].name, -1))
