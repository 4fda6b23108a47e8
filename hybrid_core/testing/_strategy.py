"""``StrategyContract``: what every routing strategy promises, on made-up live stats."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from .._core.context import ExecutionContext
from .._core.records import Provider
from .._core.resources import ResourcePools
from .._routing.decision import normalise
from .._routing.strategies import ProviderStats, RouteRequest, RoutingStrategy
from . import _fakes

__all__ = ["StrategyContract"]


class StrategyContract:
    """The behaviours every routing strategy promises; subclass it and give it yours.

    Subclass it in a test module, name the subclass ``Test...`` and define a
    ``strategy`` fixture returning a fresh strategy object, as your plugin's
    ``hybrid_routing_strategies()`` hook returns it::

        class TestFastest(StrategyContract):
            deterministic = True

            @pytest.fixture
            def strategy(self):
                return FastestStrategy()

    The suite hands ``order()`` candidates the way the router does (highest priority
    first, cooled-down providers removed) with live :class:`~hybrid_core.ProviderStats`,
    and checks that the result is a non-empty list of those candidates only (bare or as
    ``(provider, score)`` pairs, each at most once, read by the router's own check), with
    one candidate, with stats for providers it has never seen (or none at all), when
    every provider is cooling down (the router then offers them all), with resource pools
    to read, and that it never raises on a few hundred well-formed requests. The
    ``hybrid_candidates`` and ``hybrid_stats`` fixtures of the pytest plugin give the
    same kind of inputs for tests of your own.

    Class attributes a subclass may set:

    ``deterministic = True``
        the same request gives the same order every time (no randomness, no state
        that moves); checked, and skipped when False (the default).
    ``examples = 300``
        how many random requests the never-raises check makes.

    A strategy that declares ``cacheable = True`` is also checked to give one order
    whatever the statistics.
    """

    deterministic: ClassVar[bool] = False
    examples: ClassVar[int] = 300

    def _order(
        self,
        strategy: RoutingStrategy,
        candidates: Sequence[Provider],
        stats: Mapping[str, ProviderStats] | None = None,
        *,
        resources: ResourcePools | None = None,
    ) -> list[tuple[Provider, float | None]]:
        request = RouteRequest(
            _fakes.CAPABILITY,
            {"text": "x = 1\n"},
            ExecutionContext.root(name=_fakes.CAPABILITY),
            stats if stats is not None else {},
            resources,
        )
        result = strategy.order(list(candidates), request)
        try:
            ordered = normalise(result, candidates)
        except (TypeError, ValueError) as exc:
            raise AssertionError(
                f"strategy {strategy.name!r}: {exc} (given {[p.name for p in candidates]})"
            ) from None
        names = [p.name for p, _ in ordered]
        assert len(names) == len(set(names)), (
            f"strategy {strategy.name!r} returned a candidate twice: {names}"
        )
        return ordered

    def test_has_a_name_and_an_order_method(self, strategy: RoutingStrategy) -> None:
        name = getattr(strategy, "name", None)
        assert isinstance(name, str) and name, f"{strategy!r} has no 'name' string"
        assert callable(getattr(strategy, "order", None)), f"{name!r} has no order() method"

    def test_returns_only_candidates_it_was_given(
        self,
        strategy: RoutingStrategy,
        hybrid_candidates: list[Provider],
        hybrid_stats: dict[str, ProviderStats],
    ) -> None:
        self._order(strategy, hybrid_candidates, hybrid_stats)

    def test_copes_with_one_candidate(self, strategy: RoutingStrategy) -> None:
        only = _fakes.candidates(1)
        for stats in ({}, _fakes.stats(only), _fakes.stats(only, cooling=True)):
            ordered = self._order(strategy, only, stats)
            assert [p for p, _ in ordered] == only

    def test_copes_with_stats_it_has_never_seen(self, strategy: RoutingStrategy) -> None:
        given = _fakes.candidates(4, rng=random.Random(1))
        strangers = _fakes.stats(_fakes.candidates(6, rng=random.Random(2))[4:])
        self._order(strategy, given, {})
        self._order(strategy, given, strangers)
        fresh = {p.name: ProviderStats() for p in given}
        self._order(strategy, given, fresh)

    def test_copes_when_every_provider_is_cooling_down(self, strategy: RoutingStrategy) -> None:
        given = _fakes.candidates(3, rng=random.Random(3))
        self._order(strategy, given, _fakes.stats(given, cooling=True))

    def test_copes_with_resource_pools(self, strategy: RoutingStrategy) -> None:
        given = _fakes.candidates(5, rng=random.Random(4))
        roomy = ResourcePools({"cpu": 4, "memory_mb": 1024})
        self._order(strategy, given, _fakes.stats(given), resources=roomy)
        self._order(strategy, given, {}, resources=ResourcePools({}))

    def test_never_raises_on_well_formed_input(self, strategy: RoutingStrategy) -> None:
        rng = random.Random(20240)
        for _ in range(self.examples):
            given = _fakes.candidates(rng.randint(1, 8), rng=rng)
            cooling = rng.random() < 0.2
            self._order(strategy, given, _fakes.stats(given, rng=rng, cooling=cooling))

    def test_is_deterministic(self, strategy: RoutingStrategy) -> None:
        if not self.deterministic:
            pytest.skip("deterministic = False: the order may vary between calls")
        given = _fakes.candidates(5, rng=random.Random(5))
        stats = _fakes.stats(given, rng=random.Random(6))
        first = self._order(strategy, given, stats)
        for _ in range(20):
            again = self._order(strategy, given, stats)
            assert _names(again) == _names(first), f"{_names(first)} then {_names(again)}"

    def test_a_cacheable_order_reads_nothing_but_the_candidates(
        self, strategy: RoutingStrategy
    ) -> None:
        if getattr(strategy, "cacheable", False) is not True:
            pytest.skip("not cacheable: the router asks the strategy on every request")
        rng = random.Random(7)
        given = _fakes.candidates(5, rng=rng)
        first = self._order(strategy, given)
        for _ in range(20):  # other statistics each time: the order must not move
            again = self._order(strategy, given, _fakes.stats(given, rng=rng))
            assert _names(again) == _names(first), (
                f"strategy {strategy.name!r} declares cacheable = True, but its order "
                f"changed with the statistics: {_names(first)} then {_names(again)}; the "
                "router would keep the first order, so leave cacheable out"
            )


def _names(ordered: Sequence[tuple[Provider, Any]]) -> list[str]:
    return [p.name for p, _ in ordered]
