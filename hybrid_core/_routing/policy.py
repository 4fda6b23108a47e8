"""The router's policy: how often it retries, how long it backs off, when a provider cools down.

``RoutingPolicy`` is the ``[routing]`` table of the config. The functions below apply it to
one provider's :class:`ProviderStats`, moving it between the breaker states ``closed``
(serving), ``open`` (cooling down) and ``half-open`` (one probe call decides); the router
calls them and nothing else changes those states.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from .strategies import CLOSED, HALF_OPEN, OPEN, ProviderStats

if TYPE_CHECKING:
    import random

__all__ = ["RetryBudget", "RoutingPolicy", "backoff", "is_available", "settle"]


@attrs.frozen
class RoutingPolicy:
    """How the router retries, backs off and cools down; ``[routing]`` in the config.

    ``retries`` is the number of attempts after the first. The backoff before retry n is
    ``backoff * factor**(n-1)``, at most ``max_backoff``, with "full jitter" (a uniform
    draw between ``(1 - jitter)`` and 1 times that). ``retry_budget`` caps retries at that
    fraction of requests, plus ``min_retries_per_second``, so a failing dependency is not
    hammered with retries. ``cooldown_after`` consecutive failures cool a provider down for
    ``cooldown`` seconds, doubling on each repeated trip up to ``max_cooldown``.
    ``strategy_settings`` holds each ``[routing.NAME]`` table, a strategy's own options.
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
    strategy_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def strategy_for(self, capability: str) -> str:
        return self.capability_strategies.get(capability, self.strategy)

    def settings(self) -> Mapping[str, Any]:
        """The ``[routing]`` table as a strategy's hook gets it: every fixed key, with its
        default when the file leaves it out, and each ``[routing.NAME]`` table."""
        fixed = attrs.asdict(self, recurse=False)
        tables = fixed.pop("strategy_settings")
        fixed["capabilities"] = dict(fixed.pop("capability_strategies"))
        return MappingProxyType({**tables, **fixed})


class RetryBudget:
    """A token bucket: each request adds ``ratio`` tokens, each retry takes one, and
    ``floor`` tokens per second trickle in so that a quiet system can still retry.

    A deposit only counts the request; the tokens are brought up to date when a retry
    asks for one. Every addition is positive, so capping once over their sum is the same
    as capping after each.
    """

    def __init__(self, ratio: float, floor: float) -> None:
        self.ratio, self.floor = ratio, floor
        self.cap = max(10.0, floor * 10)
        self._tokens = self.cap
        self._at = time.monotonic()
        self.pending = 0  # requests since the tokens were last brought up to date

    def deposit(self) -> None:
        self.pending += 1

    @property
    def tokens(self) -> float:
        """The tokens there are now."""
        now = time.monotonic()
        gained = self.pending * self.ratio + (now - self._at) * self.floor
        self._tokens = min(self.cap, self._tokens + gained)
        self._at, self.pending = now, 0
        return self._tokens

    @tokens.setter
    def tokens(self, value: float) -> None:
        self._tokens, self._at, self.pending = value, time.monotonic(), 0

    def withdraw(self) -> bool:
        if self.tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def backoff(policy: RoutingPolicy, attempt: int, rng: random.Random) -> float:
    """The seconds to wait after failed attempt number ``attempt`` (1 is the first)."""
    base = min(policy.max_backoff, policy.backoff * policy.factor ** (attempt - 1))
    return base * (1 - policy.jitter * rng.random())


def is_available(stats: ProviderStats | None, now: float) -> bool:
    """Whether a provider may be tried now (``None``: never called, so yes).

    A provider whose cooldown is over turns half-open here, and is available until its
    one probe call starts.
    """
    if stats is None or stats.state == CLOSED:
        return True
    if stats.state == OPEN and now >= stats.cooldown_until:
        stats.state = HALF_OPEN
    return stats.state == HALF_OPEN and not stats.probing


def settle(
    policy: RoutingPolicy, stats: ProviderStats, seconds: float, ok: bool, now: float
) -> None:
    """Record one finished call in ``stats`` and move the provider's breaker state.

    A half-open probe closes the breaker on success and reopens it on failure; a closed
    provider opens after ``cooldown_after`` consecutive failures, for a cooldown that
    doubles with each further failure up to ``max_cooldown``.
    """
    stats.record(seconds, ok, now)
    if stats.state == HALF_OPEN:
        stats.probing = False
        if ok:
            stats.state = CLOSED
            return
    if not ok and (stats.state == HALF_OPEN or stats.consecutive_failures >= policy.cooldown_after):
        trips = max(1, stats.consecutive_failures - policy.cooldown_after + 1)
        stats.state = OPEN
        stats.cooldown_until = now + min(policy.max_cooldown, policy.cooldown * 2 ** (trips - 1))
