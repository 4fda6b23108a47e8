"""The router: strategies, retries across providers, cooldown, fallbacks, timeouts, events."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from hybrid_core import (
    AllProvidersFailed,
    DeadlineExceeded,
    Engine,
    EngineError,
    EngineTimeout,
    ExecutionContext,
    Hybrid,
    InMemorySink,
    LeastLoadedStrategy,
    PerformanceStrategy,
    Provider,
    RouteRequest,
    RoutingPolicy,
    UnknownCapabilityError,
    UnknownStrategyError,
)
from hybrid_core._routing.strategies import ProviderStats
from hybrid_core.testing import make_plugin

FAST = RoutingPolicy(backoff=0.0, cooldown=0.05, retry_budget=1.0)


class Flaky:
    """A handler that fails the first ``failures`` calls."""

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name, self.failures, self.calls = name, failures, 0

    def __call__(self, payload: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"{self.name} down")
        return f"{self.name}:{payload}"


def engine(name: str, handler: Any, priority: int = 10, cap: str = "text.op", **kw: Any) -> Engine:
    return Engine(name=name, capabilities={cap: priority}, handler=handler, **kw)


def system(
    *engines: Engine, policy: RoutingPolicy = FAST, **kw: Any
) -> tuple[Hybrid, InMemorySink]:
    sink = InMemorySink()
    plugin = make_plugin("engines", engines=list(engines))
    return Hybrid(plugins=[plugin], entry_points=False, sinks=[sink], routing=policy, **kw), sink


def test_priority_routes_to_the_best_and_handles_sync_and_async() -> None:
    async def ahandler(payload: str) -> str:
        return payload.upper()

    s, _ = system(engine("low", str.lower, 1), engine("high", ahandler, 9))
    with s:
        assert s.execute("text.op", "Hi") == "HI"


def test_blocking_handlers_run_off_the_event_loop() -> None:
    def where(payload: Any) -> str:
        return threading.current_thread().name

    s, _ = system(engine("b", where, blocking=True))
    with s:
        assert s.execute("text.op", None).startswith("hybrid-local")


def test_retry_goes_to_another_provider_and_succeeds() -> None:
    bad, good = Flaky("bad", failures=99), Flaky("good")
    s, sink = system(engine("bad", bad, 9), engine("good", good, 1))
    with s:
        assert s.execute("text.op", "x") == "good:x"
    decisions = sink.named("route.decision")
    assert [d.attributes["choice"] for d in decisions] == ["bad", "good"]
    assert "avoiding after failure: bad" in decisions[1].attributes["reason"]


def test_exhausted_error_names_every_provider_and_count() -> None:
    s, _ = system(
        engine("a", Flaky("a", 99), 9),
        engine("b", Flaky("b", 99), 1),
        policy=RoutingPolicy(retries=3, backoff=0.0, retry_budget=1.0),
    )
    with s, pytest.raises(AllProvidersFailed) as info:
        s.execute("text.op", 1)
    message = str(info.value)
    assert "failed after 4 attempt(s)" in message
    assert "a (2x, last ConnectionError: a down)" in message
    assert "b (2x, last ConnectionError: b down)" in message
    assert isinstance(info.value.__cause__, ConnectionError)


def test_repeated_failures_cool_a_provider_down_then_a_probe_brings_it_back() -> None:
    flaky = Flaky("flaky", failures=3)
    s, sink = system(
        engine("flaky", flaky, 9),
        engine("steady", Flaky("steady"), 1),
        policy=RoutingPolicy(retries=0, cooldown_after=3, cooldown=0.05),
    )
    with s:
        for _ in range(3):
            with pytest.raises(AllProvidersFailed):
                s.execute("text.op", 0)
        assert s.router.stats("flaky").state == "open"
        assert s.execute("text.op", 0) == "steady:0"  # cooled: traffic goes elsewhere
        assert "cooling down: flaky" in sink.named("route.decision")[-1].attributes["reason"]
        s._sync(lambda: asyncio.sleep(0.06))
        assert s.execute("text.op", 0) == "flaky:0"  # the half-open probe succeeds
        assert s.router.stats("flaky").state == "closed"


def test_when_every_provider_is_cooling_all_are_tried() -> None:
    s, sink = system(
        engine("only", Flaky("only", failures=1)),
        policy=RoutingPolicy(retries=0, cooldown_after=1, cooldown=60),
    )
    with s:
        with pytest.raises(AllProvidersFailed):
            s.execute("text.op", 0)
        assert s.execute("text.op", 0) == "only:0"
    assert "(panic)" in sink.named("route.decision")[-1].attributes["reason"]


def test_round_robin_rotates_per_capability() -> None:
    s, _ = system(
        engine("a", lambda p: "a"),
        engine("b", lambda p: "b"),
        engine("c", lambda p: "c"),
        engine("z", lambda p: "z", cap="other.op"),
    )
    with s:
        got = [s.execute("text.op", 0, strategy="round_robin") for _ in range(6)]
        assert s.execute("other.op", 0, strategy="round_robin") == "z"
    assert got == ["a", "b", "c", "a", "b", "c"]


def provider(name: str, **caps: int) -> Provider:
    from hybrid_core import ProviderKind

    return Provider(ProviderKind.ENGINE, name, caps or {"c": 1}, None, "t")


def test_least_loaded_prefers_lower_load_relative_to_max_concurrency() -> None:
    a, b = provider("a"), provider("b")
    stats = {"a": ProviderStats(10), "b": ProviderStats(2)}
    stats["a"].in_flight, stats["b"].in_flight = 5, 1  # 0.5 vs 0.5 -> tie keeps order
    strategy = LeastLoadedStrategy(random.Random(1))
    assert strategy.order([a, b], RouteRequest("c", None, stats=stats))[0][0] is a
    stats["b"].in_flight = 2  # 1.0
    assert strategy.order([b, a], RouteRequest("c", None, stats=stats))[0][0] is a


def test_least_loaded_uses_two_random_choices_among_many() -> None:
    providers = [provider(f"p{i}") for i in range(10)]
    stats = {p.name: ProviderStats(1) for p in providers}
    for i, p in enumerate(providers):
        stats[p.name].in_flight = i
    strategy = LeastLoadedStrategy(random.Random(7))
    firsts = {
        strategy.order(providers, RouteRequest("c", None, stats=stats))[0][0].name
        for _ in range(200)
    }
    assert "p9" not in firsts and len(firsts) > 3  # never the worst; not always the best


def test_performance_based_prefers_fast_and_explores() -> None:
    fast, slow = provider("fast"), provider("slow")
    stats = {"fast": ProviderStats(), "slow": ProviderStats()}
    import time

    now = time.monotonic()
    stats["fast"].record(0.01, True, now)
    stats["slow"].record(0.03, True, now)
    never = PerformanceStrategy(explore=0.0, probe_interval=3600)
    assert never.order([slow, fast], RouteRequest("c", None, stats=stats))[0][0] is fast
    always = PerformanceStrategy(explore=1.0, rng=random.Random(0))
    assert always.order([slow, fast], RouteRequest("c", None, stats=stats))[0][0] is slow
    # A probe interval far longer than two order() calls take on a loaded machine, so
    # only the sleep decides what is due.
    probing = PerformanceStrategy(probe_interval=0.5)
    time.sleep(0.6)  # both are now "not seen for a while": the costlier one gets a probe
    assert probing.order([slow, fast], RouteRequest("c", None, stats=stats))[0][0] is slow
    # ... and only one: right after its probe the cheaper one leads again
    assert probing.order([slow, fast], RouteRequest("c", None, stats=stats))[0][0] is fast
    for _ in range(40):  # failing most calls makes it cost ~1 / (1 - error rate) times more
        stats["fast"].record(0.01, False, now)
    assert never.order([slow, fast], RouteRequest("c", None, stats=stats))[0][0] is slow
    unknown = provider("new")
    assert never.order([fast, unknown], RouteRequest("c", None, stats=stats))[0][0] is unknown


def test_resource_aware_only_picks_providers_that_fit_now() -> None:
    big = engine("big", lambda p: "big", 9, resources={"memory_mb": 800})
    small = engine("small", lambda p: "small", 1, resources={"memory_mb": 100})
    s, _ = system(big, small, resources={"memory_mb": 1000})
    with s:
        assert s.explain("text.op", strategy="resource_aware").choice == "small"
        s._sync(lambda: _hold_then_route(s))


async def _hold_then_route(s: Hybrid) -> None:
    async with s.resources.hold({"memory_mb": 500}):
        decision = s.explain("text.op", strategy="resource_aware")
        assert decision.order == ("small",)
        assert await s.aexecute("text.op", 0, strategy="resource_aware") == "small"


class Broken:
    def __init__(self, name: str, result: Any) -> None:
        self.name, self.result = name, result

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize(
    ("result", "why"),
    [
        (RuntimeError("bug"), "RuntimeError: bug"),
        ([], "returned no candidate"),
        ([provider("foreign")], "not one of the candidates"),
        (None, "not a list"),
    ],
)
def test_broken_strategy_falls_back_to_priority_and_says_so(result: Any, why: str) -> None:
    sink = InMemorySink()
    plugin = make_plugin(
        "p", engines=[engine("e", lambda p: "ok")], strategies=[Broken("broken", result)]
    )
    s = Hybrid(plugins=[plugin], entry_points=False, sinks=[sink], routing=FAST)
    with s:
        assert s.execute("text.op", 0, strategy="broken") == "ok"
    reason = sink.named("route.decision")[0].attributes["reason"]
    assert "strategy 'broken' failed" in reason and why in reason and "used priority" in reason


def test_unknown_strategy_and_capability_have_did_you_mean() -> None:
    s, _ = system(engine("e", lambda p: p, cap="python.complexity"))
    with s:
        with pytest.raises(UnknownStrategyError, match="did you mean 'round_robin'"):
            s.execute("python.complexity", 0, strategy="round_robbin")
        with pytest.raises(UnknownCapabilityError, match=r"did you mean 'python\.complexity'"):
            s.execute("python.complexty", 0)


def test_configured_unknown_strategy_is_a_reported_problem() -> None:
    s, _ = system(engine("e", lambda p: p), policy=RoutingPolicy(strategy="fastest"))
    with s:
        assert any("no routing strategy is named 'fastest'" in p for p in s.problems)
        with pytest.raises(UnknownStrategyError):
            s.execute("text.op", 0)


def test_sync_handler_returning_a_coroutine_is_a_clear_error() -> None:
    async def work(payload: Any) -> Any:
        return payload

    def sneaky(payload: Any) -> Any:
        return work(payload)  # a plain function handing back a coroutine

    s, _ = system(engine("sneaky", sneaky), policy=RoutingPolicy(retries=0))
    with s, pytest.raises(AllProvidersFailed) as info:
        s.execute("text.op", 0)
    cause = info.value.attempts[0][1]
    assert isinstance(cause, EngineError) and "declare the handler with 'async def'" in str(cause)


def test_hanging_engine_times_out_and_the_next_provider_serves() -> None:
    async def hang(payload: Any) -> Any:
        await asyncio.sleep(3600)

    s, _ = system(engine("hang", hang, 9, timeout=0.02), engine("ok", lambda p: "ok", 1))
    with s:
        assert s.execute("text.op", 0) == "ok"
        with pytest.raises(AllProvidersFailed) as info:
            s.execute("text.op", 0, providers=["hang"], retries=0)
    assert isinstance(info.value.attempts[0][1], EngineTimeout)


async def test_context_deadline_bounds_the_call() -> None:
    async def hang(payload: Any) -> Any:
        await asyncio.sleep(3600)

    s, _ = system(engine("hang", hang))
    async with s:
        with pytest.raises(DeadlineExceeded):
            await s.aexecute("text.op", 0, ExecutionContext.root(timeout=0.02))


def test_fallbacks_to_another_capability_and_to_a_named_engine() -> None:
    s, _ = system(
        engine("down", Flaky("down", 99), cap="text.fancy"),
        engine("plain", lambda p: "plain", cap="text.plain"),
        engine("direct", lambda p: "direct", cap="text.other"),
        policy=RoutingPolicy(retries=0),
    )
    with s:
        assert s.execute("text.fancy", 0, fallbacks=["text.plain"]) == "plain"
        assert s.execute("text.fancy", 0, fallbacks=["nope.cap", "direct"]) == "direct"


def test_serving_in_place_of_the_preferred_provider_says_why() -> None:
    flaky = Flaky("flaky", failures=99)
    s, _ = system(engine("flaky", flaky, 9), engine("steady", Flaky("steady"), 1),
                  engine("spare", Flaky("spare"), 0),
                  policy=RoutingPolicy(retries=1, backoff=0.0, cooldown_after=2, cooldown=60,
                                       retry_budget=1.0))  # fmt: skip
    with s:
        serve = lambda: s._sync(lambda: s.router.aserve("text.op", 0))  # noqa: E731
        assert serve() == ("steady:0", "steady", "flaky failed (ConnectionError)")
        assert serve().fallback == "flaky failed (ConnectionError)"  # now cooling down
        calls = flaky.calls
        assert serve().fallback == "flaky was cooling down"
        assert flaky.calls == calls, "a cooled provider is not called"
        assert dict(s.router.fallbacks) == {
            ("text.op", "steady", "flaky failed (ConnectionError)"): 2,
            ("text.op", "steady", "flaky was cooling down"): 1,
        }
        assert s.execute("text.op", 1) == "steady:1"  # aexecute gives the value alone


def test_no_fallback_when_the_preferred_provider_served() -> None:
    s, _ = system(engine("again", Flaky("again", failures=1), 9),
                  engine("low", Flaky("low", failures=1), 1),
                  policy=RoutingPolicy(retries=2, backoff=0.0, cooldown_after=1, cooldown=60,
                                       retry_budget=1.0))  # fmt: skip
    with s:
        # Retried on the same provider after it failed: a retry, not a fallback.
        served = s._sync(lambda: s.router.aserve("text.op", 0, providers=["again"]))
        assert served == ("again:0", "again", None)
        with pytest.raises(AllProvidersFailed):
            s._sync(lambda: s.router.aserve("text.op", 0, providers=["low"], retries=0))
        # Only a provider of lower priority is cooling down: the preferred one serves.
        served = s._sync(lambda: s.router.aserve("text.op", 0))
        assert served == ("again:0", "again", None)
        assert not s.router.fallbacks


def test_an_explicit_fallback_says_what_failed_first() -> None:
    s, _ = system(engine("down", Flaky("down", 99), cap="text.fancy"),
                  engine("plain", lambda p: "plain", cap="text.plain"),
                  policy=RoutingPolicy(retries=0))  # fmt: skip
    with s:
        served = s._sync(lambda: s.router.aserve("text.fancy", 0, fallbacks=["text.plain"]))
    assert served == ("plain", "plain",
                      "down failed (ConnectionError); fallback 'text.plain' served")  # fmt: skip


def test_max_concurrency_is_enforced() -> None:
    peak = 0
    running = 0

    async def work(payload: Any) -> int:
        nonlocal peak, running
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        return payload

    s, _ = system(engine("limited", work, max_concurrency=2))

    async def many() -> list[Any]:
        return await asyncio.gather(*(s.aexecute("text.op", i) for i in range(10)))

    with s:
        assert s._sync(many) == list(range(10))
    assert peak == 2


def test_route_decisions_and_engine_calls_are_events() -> None:
    s, sink = system(engine("a", lambda p: p, 5), engine("b", lambda p: p, 3))
    with s:
        s.execute("text.op", 1)
    (decision,) = sink.named("route.decision")
    attrs = decision.attributes
    assert attrs["candidates"] == ["a", "b"] and attrs["choice"] == "a"
    assert attrs["scores"] == {"a": 5.0, "b": 3.0} and attrs["strategy"] == "priority"
    assert "priority chose 'a'" in attrs["reason"]
    start, stop = sink.named("engine.call.start"), sink.named("engine.call.stop")
    assert start[0].provider == "a" and stop[0].attributes["outcome"] == "ok"
    assert stop[0].duration is not None and stop[0].parent_span_id == decision.span_id


def test_explain_shows_scores_without_calling() -> None:
    calls = Flaky("a")
    s, _ = system(engine("a", calls, 5), engine("b", lambda p: p, 7))
    with s:
        decision = s.explain("text.op", "payload")
    assert decision.choice == "b" and decision.scores == {"b": 7.0, "a": 5.0}
    assert calls.calls == 0 and decision.to_dict()["choice"] == "b"


def test_retry_budget_stops_retry_storms() -> None:
    policy = RoutingPolicy(
        retries=5, backoff=0.0, retry_budget=0.0, min_retries_per_second=0.0, cooldown_after=1000
    )
    s, _ = system(engine("a", Flaky("a", 10_000)), policy=policy)
    with s:
        router = s.router
        router._budget.tokens = 2  # two retries left in the bucket
        with pytest.raises(AllProvidersFailed) as info:
            s.execute("text.op", 0)
    assert len(info.value.attempts) == 3 and "retry budget exhausted" in str(info.value)


def test_payload_errors_are_not_retried_nor_held_against_the_provider() -> None:
    from hybrid_core import PayloadError

    calls = 0

    def picky(payload: Any) -> Any:
        nonlocal calls
        calls += 1
        raise PayloadError("payload must be a mapping with 'source'")

    s, _ = system(engine("picky", picky), policy=RoutingPolicy(cooldown_after=1, retries=3))
    with s:
        for _ in range(3):
            with pytest.raises(PayloadError, match="must be a mapping"):
                s.execute("text.op", 42)
        stats = s.router.stats("picky")
    assert calls == 3 and stats.state == "closed" and stats.failures == 0


def test_keyword_context_handlers_get_the_context() -> None:
    def handler(payload: Any, *, context: ExecutionContext) -> str:
        return context.parent.name if context.parent else ""

    s, _ = system(engine("kw", handler))
    with s:
        assert s.execute("text.op", 0) == "text.op"


def test_process_engines_run_in_another_process() -> None:
    import os

    s, _ = system(engine("proc", _pid, process=True))
    with s:
        assert s.execute("text.op", 0) != os.getpid()


def _pid(payload: Any) -> int:
    import os

    return os.getpid()


def test_process_calls_with_one_affinity_land_on_one_worker() -> None:
    engine_ = Engine(name="aff", capabilities={"text.op": 1}, handler=_pid, process=True,
                     affinity_key="path")  # fmt: skip
    s = Hybrid(plugins=[make_plugin("p", engines=[engine_])], entry_points=False,
               config={"executor": {"max_processes": 2}})  # fmt: skip

    async def many() -> list[Any]:
        calls = [s.aexecute("text.op", {"path": f"f{i % 4}"}) for i in range(40)]
        return await asyncio.gather(*calls)

    with s:
        pids = s._sync(many)
    by_key: dict[int, set[int]] = {}
    for i, pid in enumerate(pids):
        by_key.setdefault(i % 4, set()).add(pid)
    assert all(len(found) == 1 for found in by_key.values())  # sticky per path
    assert len(set(pids)) == 2  # and both workers are used


def _die(payload: Any) -> int:
    import os

    if payload == "die":
        os._exit(3)
    return os.getpid()


def test_a_dead_worker_process_is_replaced() -> None:
    from concurrent.futures import BrokenExecutor

    engine_ = Engine(name="mortal", capabilities={"text.op": 1}, handler=_die, process=True)
    s = Hybrid(plugins=[make_plugin("p", engines=[engine_])], entry_points=False,
               config={"executor": {"max_processes": 1}},
               routing=RoutingPolicy(retries=0))  # fmt: skip
    with s:
        first = s.execute("text.op", "live")
        with pytest.raises(AllProvidersFailed) as info:
            s.execute("text.op", "die")
        assert isinstance(info.value.attempts[0][1], BrokenExecutor)
        second = s.execute("text.op", "live")
    assert first != second  # a new worker process serves after the crash


@pytest.mark.parametrize("raising", [SystemExit(4), KeyboardInterrupt()])
def test_a_strategy_or_sink_that_exits_does_not_end_the_run(raising: BaseException) -> None:
    from hybrid_core import Engine, Hybrid, RoutingPolicy
    from hybrid_core.testing import make_plugin

    class Exiting:
        name = "exiting"

        def order(self, candidates: Any, request: Any) -> Any:
            raise raising

    class ExitingSink:
        name = "exiting-sink"

        def handle(self, event: Any) -> None:
            raise raising

        def flush(self) -> None:
            pass

        def close(self) -> None:
            pass

    engine = Engine(name="e.one", capabilities={"x.op": 1}, handler=lambda p: "done")
    plugin = make_plugin("p", engines=[engine], strategies=[Exiting()])
    policy = RoutingPolicy(strategy="exiting")
    with Hybrid(plugins=[plugin], entry_points=False, routing=policy,
                sinks=[ExitingSink()]) as system:  # fmt: skip
        assert system.execute("x.op", {}) == "done"
        assert system.telemetry.flush(timeout=30)  # the sink runs on the queue's thread
        failures = dict(system.telemetry.sink_failures)
    assert "exiting-sink" in failures


class Counting:
    """The candidates in their own order, counting how often it is asked."""

    def __init__(self, name: str, cacheable: object) -> None:
        self.name, self.cacheable, self.asked = name, cacheable, 0

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Any:
        self.asked += 1
        return list(candidates)


def down(payload: Any) -> str:
    raise ConnectionError("down")


def test_a_cacheable_order_is_reused_until_the_candidates_change() -> None:
    cached, asked = Counting("cached", True), Counting("asked", "yes")  # only True counts
    plugin = make_plugin("p", engines=[engine("a", lambda p: f"a:{p}", priority=20),
                                       engine("b", lambda p: f"b:{p}")],
                         strategies=[cached, asked])  # fmt: skip
    with Hybrid(plugins=[plugin], entry_points=False, routing=FAST) as s:
        served = [s.execute("text.op", i, strategy="cached") for i in range(3)]
        assert served == ["a:0", "a:1", "a:2"]
        assert cached.asked == 1
        served = [s.execute("text.op", i, strategy="asked") for i in range(3)]
        assert served == ["a:0", "a:1", "a:2"]
        assert asked.asked == 3
        s.register(engine("c", lambda p: f"c:{p}", priority=30))  # new candidates: ask again
        assert s.execute("text.op", 9, strategy="cached") == "c:9"
        assert s.execute("text.op", 10, strategy="cached") == "c:10"
        assert cached.asked == 2


def test_a_cacheable_strategy_is_asked_again_while_a_provider_cools_down() -> None:
    cached = Counting("cached", True)
    policy = RoutingPolicy(retries=1, backoff=0.0, cooldown_after=1, cooldown=60.0)
    engines = [engine("a", down, priority=20), engine("b", lambda p: f"b:{p}")]
    plugin = make_plugin("p", engines=engines, strategies=[cached])
    with Hybrid(plugins=[plugin], entry_points=False, routing=policy) as s:
        assert s.execute("text.op", 1, strategy="cached") == "b:1"  # a failed and cooled
        assert cached.asked == 2  # the first attempt, then the retry without a
        assert s.execute("text.op", 2, strategy="cached") == "b:2"
        assert cached.asked == 3  # a is still cooling down: the candidates differ
        decision = s.router.decide("text.op", strategy="cached")
        assert decision.cooled == ("a",) and decision.order == ("b",)
