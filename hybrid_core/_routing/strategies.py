"""Routing strategies and the live per-provider statistics they read.

A strategy receives the candidates for a request, already ordered by priority and with
cooled-down providers taken out, and returns them in the order they should be tried,
each optionally with a score (lower or higher is the strategy's business; the score is
shown in ``route.decision`` events and by ``explain``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .._core.context import ExecutionContext
from .._core.records import Provider
from .._core.util import new_rng

if TYPE_CHECKING:
    import random

    from .._core.resources import ResourcePools

__all__ = [
    "LeastLoadedStrategy",
    "PerformanceStrategy",
    "PriorityStrategy",
    "ProviderStats",
    "ResourceAwareStrategy",
    "RoundRobinStrategy",
    "RouteRequest",
    "RoutingStrategy",
    "builtin_strategies",
]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class ProviderStats:
    """Live statistics of one provider, updated by the router after every call.

    ``latency`` is a peak-EWMA: a slower sample replaces it at once, faster samples pull
    it down with time constant ``tau`` seconds, so a provider that turns slow is seen at
    once and one that recovers is believed gradually. ``error_rate`` is an EWMA of
    failures (1) and successes (0) over about the last 20 calls.
    """

    __slots__ = (
        "_latency_at",
        "_started_sum",
        "calls",
        "consecutive_failures",
        "cooldown_until",
        "error_rate",
        "failures",
        "in_flight",
        "last_used",
        "latency",
        "max_concurrency",
        "probing",
        "state",
        "tau",
    )

    def __init__(self, max_concurrency: int | None = None, *, tau: float = 10.0) -> None:
        self.max_concurrency = max_concurrency
        self.in_flight = 0
        self._started_sum = 0.0
        self.calls = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.latency = 0.0
        self._latency_at = 0.0
        self.error_rate = 0.0
        self.state = CLOSED
        self.cooldown_until = 0.0
        self.probing = False
        self.last_used = 0.0
        self.tau = tau

    @property
    def load(self) -> float:
        """In-flight calls relative to max concurrency (in-flight alone without a limit)."""
        if self.max_concurrency:
            return self.in_flight / self.max_concurrency
        return float(self.in_flight)

    def latency_now(self, now: float) -> float:
        """The peak-EWMA latency, decayed for the time since it was last updated.

        Calls still in flight count too: twice their mean age (what it is, on average,
        for calls arriving steadily) when that exceeds the estimate. A provider that turns
        slow is then seen while its slow calls are still running, not only once the first
        of them returns.
        """
        if not self.calls:
            return 0.0
        idle = now - self._latency_at
        estimate = self.latency * math.exp(-idle / self.tau) if idle > 0 else self.latency
        if self.in_flight:
            estimate = max(estimate, 2.0 * (now - self._started_sum / self.in_flight))
        return estimate

    def begin(self, now: float) -> None:
        """A call started (it may still wait for resources)."""
        self.in_flight += 1
        self._started_sum += now

    def end(self, started: float) -> None:
        """The call that began at ``started`` is over."""
        self.in_flight -= 1
        self._started_sum = self._started_sum - started if self.in_flight else 0.0

    def record(self, seconds: float, ok: bool, now: float) -> None:
        """Fold one finished call into the statistics."""
        self.calls += 1
        self.last_used = now
        if seconds > self.latency or self.calls == 1:
            self.latency = seconds
        else:
            weight = math.exp(-max(now - self._latency_at, 0.0) / self.tau)
            self.latency = self.latency * weight + seconds * (1 - weight)
        self._latency_at = now
        self.error_rate += ((0.0 if ok else 1.0) - self.error_rate) / 20.0
        if ok:
            self.consecutive_failures = 0
        else:
            self.failures += 1
            self.consecutive_failures += 1

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The statistics as plain data."""
        now = time.monotonic() if now is None else now
        return {
            "in_flight": self.in_flight,
            "max_concurrency": self.max_concurrency,
            "calls": self.calls,
            "failures": self.failures,
            "latency_ms": round(self.latency_now(now) * 1000, 3),
            "error_rate": round(self.error_rate, 4),
            "state": self.state,
        }

    def __repr__(self) -> str:
        return f"<ProviderStats {self.snapshot()}>"


@attrs.frozen
class RouteRequest:
    """What is being asked for, and what a strategy may read to decide.

    ``stats`` maps provider names to their live :class:`ProviderStats`; ``resources``
    are the system's pools (None when the request is not routed by a system).
    """

    capability: str
    payload: Any
    context: ExecutionContext | None = None
    stats: Mapping[str, ProviderStats] = attrs.field(factory=dict)
    resources: ResourcePools | None = None


Scored = tuple[Provider, float]
Ordered = Sequence[Provider | Scored]


@runtime_checkable
class RoutingStrategy(Protocol):
    """Orders candidate providers for a request, best first.

    ``candidates`` arrive ordered by priority (highest first, ties in registration order)
    with cooled-down providers removed. Return them, or a subset, in the order to try,
    each item a provider or a ``(provider, score)`` pair.

    Optional: a class attribute ``cacheable = True`` says the order depends on nothing but
    the candidates and the capability (never the payload, the context, the statistics or
    the time). The router then asks once per set of candidates and reuses that order
    until a provider is registered, removed or cooling down; it asks again whenever the
    candidates differ. Leave it out when in doubt: the strategy is then asked every time.
    """

    name: str

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        """Return the candidates to try, best first."""


class PriorityStrategy:
    """The highest declared priority first; among equals, the one registered first."""

    name = "priority"
    cacheable = True  # the order is the candidates' own: nothing else is read

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        cap = request.capability
        return [(p, float(p.capabilities[cap])) for p in candidates]


class RoundRobinStrategy:
    """Each request of a capability starts one provider further along; the rest follow."""

    name = "round_robin"

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        counter = self._counters.get(request.capability)
        if counter is None:
            counter = self._counters.setdefault(request.capability, itertools.count())
        start = next(counter) % len(candidates)
        rotated = [*candidates[start:], *candidates[:start]]
        return [(p, float(i)) for i, p in enumerate(rotated)]


class LeastLoadedStrategy:
    """Power of two choices: of two random candidates, the one with less load relative
    to its max concurrency; the others follow by load. O(1) for the choice itself."""

    name = "least_loaded"

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or new_rng()

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        stats = request.stats
        load = {p.name: _load(stats, p) for p in candidates}
        if len(candidates) <= 2:
            return sorted(((p, load[p.name]) for p in candidates), key=lambda s: s[1])
        a, b = self._rng.sample(range(len(candidates)), 2)
        first = (
            candidates[a]
            if load[candidates[a].name] <= load[candidates[b].name]
            else (candidates[b])
        )
        rest = sorted((p for p in candidates if p is not first), key=lambda p: load[p.name])
        return [(first, load[first.name]), *((p, load[p.name]) for p in rest)]


def _load(stats: Mapping[str, ProviderStats], provider: Provider) -> float:
    s = stats.get(provider.name)
    return s.load if s is not None else 0.0


class PerformanceStrategy:
    """Lowest expected cost first: peak-EWMA latency, times the expected queueing given
    the calls in flight (see ``_queueing``), times the expected attempts per success,
    1 / (1 - recent error rate).

    Exploration is bounded in time, not left to chance on every request: a provider with
    no calls yet goes first, and a provider that has not been used nor probed for
    ``probe_interval`` seconds gets one request, so one that recovered is seen again
    within that interval while the tail latency of the others is untouched. ``explore``
    adds a random probe to that fraction of requests (0 by default).
    """

    name = "performance_based"

    def __init__(
        self,
        *,
        probe_interval: float = 1.0,
        explore: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.probe_interval = probe_interval
        self.explore = explore
        self._rng = rng or new_rng()
        self._probed: dict[str, float] = {}

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        now = time.monotonic()
        stats = request.stats
        scored = sorted(
            ((p, self._cost(stats.get(p.name), now)) for p in candidates), key=lambda s: s[1]
        )
        if len(scored) > 1:
            probe = self._due(scored[1:], stats, now)
            if probe is None and self.explore and self._rng.random() < self.explore:
                probe = self._rng.choice(scored[1:])
            if probe is not None:
                self._probed[probe[0].name] = now
                scored.remove(probe)
                scored.insert(0, probe)
        return scored

    def _due(
        self,
        scored: Sequence[tuple[Provider, float]],
        stats: Mapping[str, ProviderStats],
        now: float,
    ) -> tuple[Provider, float] | None:
        for item in scored:
            name = item[0].name
            seen = max(_last_used(stats, item[0]), self._probed.get(name, 0.0))
            if seen and now - seen >= self.probe_interval:
                return item
        return None

    def _cost(self, s: ProviderStats | None, now: float) -> float:
        if s is None or s.calls == 0:
            return -1.0  # unknown: try it first
        # A failed call is retried, so a provider failing a fraction e of its calls costs
        # about 1 / (1 - e) calls per success (capped: a dead provider is 100x, not inf).
        attempts = 1.0 / max(0.01, 1.0 - s.error_rate)
        return s.latency_now(now) * _queueing(s) * attempts


def _queueing(s: ProviderStats) -> float:
    """How much longer than its latency a new call is expected to take, given the load.

    A provider with ``max_concurrency`` k serves k calls at once: a call only waits once
    k are in flight, then for about (in_flight + 1) / k service times. Without a limit,
    each call in flight is assumed to delay the next by one service time.
    """
    if s.max_concurrency:
        return max(1.0, (s.in_flight + 1) / s.max_concurrency)
    return float(s.in_flight + 1)


def _last_used(stats: Mapping[str, ProviderStats], provider: Provider) -> float:
    s = stats.get(provider.name)
    return s.last_used if s is not None else 0.0


class ResourceAwareStrategy:
    """Only providers whose per-call resources fit what is free now, most headroom
    first. When none fits now, those that fit at all, by headroom (the call will wait)."""

    name = "resource_aware"

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Ordered:
        pools = request.resources
        if pools is None:
            return list(candidates)
        needs = {p.name: _needs(p) for p in candidates}
        scored = sorted(
            ((p, pools.headroom(needs[p.name])) for p in candidates),
            key=lambda s: -s[1],
        )
        fitting = [s for s in scored if pools.fits_now(needs[s[0].name])]
        if fitting:
            return fitting
        return [s for s in scored if _possible(pools, needs[s[0].name])]


def _needs(provider: Provider) -> Mapping[str, float]:
    needs = getattr(provider.target, "resources", None)
    return needs if isinstance(needs, Mapping) else {}


def _possible(pools: ResourcePools, needs: Mapping[str, float]) -> bool:
    for name, amount in needs.items():
        pool = pools.get(name)
        if pool is not None and amount > pool.size:
            return False
    return True


def builtin_strategies() -> list[RoutingStrategy]:
    """One fresh instance of each built-in strategy (they keep per-system state)."""
    return [
        PriorityStrategy(),
        RoundRobinStrategy(),
        LeastLoadedStrategy(),
        PerformanceStrategy(),
        ResourceAwareStrategy(),
    ]
