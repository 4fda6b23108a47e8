"""Hybrid steps: engines and capabilities inside workflows, workflows serving capabilities."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hybrid_core as hc
from hybrid_core import (
    AllProvidersFailed,
    Engine,
    EngineError,
    Hybrid,
    InMemorySink,
    RoutingPolicy,
    Workflow,
    capability_step,
    engine_step,
    parallel_step,
    workflow_provider,
)
from hybrid_core.testing import make_plugin


def engine(name: str, handler: Any, cap: str = "text.op", priority: int = 10,
           **kw: Any) -> Engine:  # fmt: skip
    return Engine(name=name, capabilities={cap: priority}, handler=handler, **kw)


def start(*items: Any, sink: InMemorySink | None = None, **kw: Any) -> Hybrid:
    engines = [i for i in items if isinstance(i, Engine)]
    workflows = [i for i in items if not isinstance(i, Engine)]
    plugin = make_plugin("bridge", engines=engines, workflows=workflows)
    policy = kw.pop("routing", RoutingPolicy(backoff=0.0))
    system = Hybrid(plugins=[plugin], entry_points=False, sinks=[sink] if sink else [],
                    routing=policy, **kw)  # fmt: skip
    system.start()
    assert not system.failures, system.failures
    return system


def upper(payload: dict[str, Any]) -> str:
    return str(payload["text"]).upper()


def test_capability_step_routes_and_records_the_provider() -> None:
    wf = Workflow("shout", inputs=["text"])
    wf.add(capability_step("loud", "text.op", text=hc.input("text")))
    wf.returns("loud")
    system = start(engine("low", lambda p: "low", priority=1), engine("up", upper, priority=9))
    result = system.run(wf, text="hi")
    system.close()
    assert result.unwrap() == "HI"
    assert result.steps["loud"].provider == "up"


def test_a_step_served_in_place_of_the_preferred_provider_says_why() -> None:
    def down(payload: Any) -> str:
        raise ConnectionError("down")

    wf = Workflow("shout", inputs=["text"])
    wf.add(capability_step("loud", "text.op", with_provider=True, text=hc.input("text")))
    wf.returns("loud")
    system = start(engine("up", down, priority=9), engine("low", upper, priority=1))
    result = system.run(wf, text="hi")
    system.close()
    why = "up failed (ConnectionError)"
    assert result.unwrap() == {"provider": "low", "result": "HI", "fallback": why}
    record = result.steps["loud"]
    assert (record.provider, record.fallback) == ("low", why)
    assert f"(served by low: {why})" in result.summary()


def test_single_payload_argument_is_sent_as_is() -> None:
    wf = Workflow("w", inputs=["n"])
    wf.add(engine_step("double", "doubler", payload=hc.input("n")))
    wf.returns("double")
    system = start(engine("doubler", lambda p: p * 2))
    assert system.run(wf, n=21).unwrap() == 42
    system.close()


def test_engine_step_pins_one_engine_even_when_another_ranks_higher() -> None:
    wf = Workflow("w", inputs=["text"])
    wf.add(engine_step("pinned", "low", text=hc.input("text")))
    wf.returns("pinned")
    system = start(engine("low", lambda p: "low", priority=1), engine("up", upper, priority=9))
    result = system.run(wf, text="x")
    assert result.unwrap() == "low" and result.steps["pinned"].provider == "low"
    system.close()


def test_unknown_pinned_engine_fails_the_step_with_a_did_you_mean() -> None:
    wf = Workflow("w")
    wf.add(engine_step("pinned", "uper"))
    wf.returns("pinned")
    system = start(engine("upper", upper))
    result = system.run(wf)
    assert system.missing(wf) == ["step 'pinned' pins 'uper', which no plugin registered"]
    system.close()
    assert result.status.value == "failed"
    assert "'uper': is not registered (did you mean 'upper'?)" in str(result.error)


def test_fallback_chain_serves_when_routing_is_exhausted() -> None:
    def down(payload: Any) -> Any:
        raise ConnectionError("down")

    wf = Workflow("w")
    wf.add(capability_step("s", "text.fancy", fallbacks=["text.plain"], route_retries=0))
    wf.returns("s")
    system = start(engine("fancy", down, cap="text.fancy"),
                   engine("plain", lambda p: "plain", cap="text.plain"))
    result = system.run(wf)
    system.close()
    assert result.unwrap() == "plain" and result.steps["s"].provider == "plain"


def test_step_retry_policy_reruns_the_routed_step() -> None:
    calls = 0

    def flaky(payload: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("flaky")
        return "ok"

    wf = Workflow("w")
    wf.add(capability_step("s", "text.op", route_retries=0,
                           retry=hc.RetryPolicy(max_attempts=3, backoff=0.0)))
    wf.returns("s")
    system = start(engine("flaky", flaky),
                   routing=RoutingPolicy(backoff=0.0, cooldown_after=100))
    result = system.run(wf)
    system.close()
    assert result.unwrap() == "ok" and result.steps["s"].attempts == 3


async def slow(payload: Any) -> str:
    await asyncio.sleep(0.05)
    return "slow"


async def fast(payload: Any) -> str:
    return "fast"


def failing(payload: Any) -> str:
    raise ValueError("no")


@pytest.mark.parametrize(
    ("aggregate", "extra", "expected"),
    [
        ("first", {}, "fast"),
        ("all", {}, {"a_slow": "slow", "b_fast": "fast"}),
        ("quorum", {"quorum": 1}, {"b_fast": "fast"}),
    ],
)
def test_parallel_aggregations(aggregate: str, extra: dict[str, Any], expected: Any) -> None:
    wf = Workflow("w")
    wf.add(parallel_step("p", "text.op", aggregate=aggregate, **extra))
    wf.returns("p")
    system = start(engine("a_slow", slow, priority=9), engine("b_fast", fast, priority=1))
    assert system.run(wf).unwrap() == expected
    system.close()


def test_parallel_first_cancels_the_slower_providers() -> None:
    cancelled = asyncio.Event()

    async def hang(payload: Any) -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    wf = Workflow("w")
    wf.add(parallel_step("p", "text.op", aggregate="first"))
    wf.returns("p")
    system = start(engine("hang", hang), engine("quick", fast))
    assert system.run(wf).unwrap() == "fast"
    system.close()
    assert cancelled.is_set()


def test_losing_the_race_is_not_a_failure_and_the_winner_is_the_provider() -> None:
    async def slow(payload: Any) -> str:
        await asyncio.sleep(3600)
        return "never"

    sink = InMemorySink()
    wf = Workflow("w")
    wf.add(parallel_step("p", "text.op", aggregate="first"))
    wf.returns("p")
    system = start(engine("slow", slow), engine("quick", fast), sink=sink)
    for _ in range(5):  # past the cooldown threshold, were losing counted as failing
        result = system.run(wf)
        assert result.unwrap() == "fast"
        assert result.steps["p"].provider == "quick"
    stats = system.router.stats("slow")
    system.close()
    stops = {e.provider: e.attributes for e in sink.named("engine.call.stop")}
    assert stops["slow"]["outcome"] == "cancelled" and "error" not in stops["slow"]
    assert stops["quick"]["outcome"] == "ok"
    assert (stats.failures, stats.consecutive_failures) == (0, 0)


def test_parallel_consensus_and_custom_aggregate() -> None:
    system = start(engine("a", lambda p: 1), engine("b", lambda p: 2), engine("c", lambda p: 1),
                   engine("d", failing))
    wf = Workflow("w")
    wf.add(parallel_step("vote", "text.op", aggregate="consensus"))
    wf.add(parallel_step("sum", "text.op",
                         aggregate=lambda results, errors: (sum(results.values()), sorted(errors))))
    wf.returns({"vote": "vote", "sum": "sum"})
    out = system.run(wf).unwrap()
    system.close()
    vote = out["vote"]
    assert (vote.value, vote.votes, vote.of, vote.providers) == (1, 2, 3, ("a", "c"))
    assert vote.share == pytest.approx(2 / 3)
    assert out["sum"] == (4, ["d"])


def test_parallel_all_reports_every_failure() -> None:
    wf = Workflow("w")
    wf.add(parallel_step("p", "text.op", aggregate="all"))
    wf.returns("p")
    system = start(engine("ok", fast), engine("bad", failing))
    result = system.run(wf)
    system.close()
    assert result.status.value == "failed"
    error = result.steps["p"].error
    assert isinstance(error, AllProvidersFailed) or isinstance(error.__cause__, AllProvidersFailed)
    assert "bad (1x, last ValueError: no)" in str(result.error)


def test_parallel_step_arguments_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="aggregate must be one of"):
        parallel_step("p", "text.op", aggregate="median")
    with pytest.raises(ValueError, match="needs quorum="):
        parallel_step("p", "text.op", aggregate="quorum")
    with pytest.raises(hc.CapabilityNameError):
        capability_step("c", "not a capability")


def test_a_workflow_serves_a_capability_and_nests_under_the_caller() -> None:
    inner = Workflow("inner", inputs=["text"])
    inner.step("shout", lambda text: text.upper() + "!", text=hc.input("text"))
    inner.returns("shout")
    sink = InMemorySink()
    system = start(workflow_provider(inner, capability="text.shout", priority=5), sink=sink)
    assert system.execute("text.shout", "hey") == "HEY!"

    outer = Workflow("outer", inputs=["word"])
    outer.add(capability_step("call", "text.shout", payload=hc.input("word")))
    outer.returns("call")
    result = system.run(outer, word="yo")
    system.close()
    assert result.unwrap() == "YO!" and result.steps["call"].provider == "inner"
    runs = sink.named("run.start")
    outer_run = next(e for e in runs if e.attributes.get("workflow") == "outer")
    inner_runs = [e for e in runs if e.attributes.get("workflow") == "inner"]
    assert inner_runs[-1].trace_id == outer_run.trace_id  # one trace, nested


def test_workflow_with_several_inputs_takes_a_mapping_payload() -> None:
    wf = Workflow("add", inputs=["a", "b"])
    wf.step("sum", lambda a, b: a + b, a=hc.input("a"), b=hc.input("b"))
    wf.returns("sum")
    system = start(workflow_provider(wf, capability="math.add"))
    assert system.execute("math.add", {"a": 2, "b": 3}) == 5
    with pytest.raises(AllProvidersFailed) as info:
        system.execute("math.add", 7, retries=0)
    system.close()
    assert isinstance(info.value.attempts[0][1], EngineError)
    assert "send a mapping with those keys" in str(info.value.attempts[0][1])


def test_missing_lists_capabilities_nobody_provides() -> None:
    wf = Workflow("w")
    wf.add(capability_step("c", "python.complexty"))
    wf.returns("c")
    system = start(engine("cx", lambda p: 1, cap="python.complexity"))
    assert system.missing(wf) == [
        "step 'c' needs capability 'python.complexty', which nobody provides "
        "(did you mean 'python.complexity'?)"
    ]
    system.close()


def test_plan_reports_shape_peak_demand_and_the_bottleneck() -> None:
    big = engine("big", lambda p: 1, cap="work.big", resources={"memory_mb": 600})
    small = engine("small", lambda p: 1, cap="work.small", resources={"memory_mb": 100, "cpu": 1})
    huge = engine("huge", lambda p: 1, cap="work.huge", resources={"memory_mb": 5000})
    wf = Workflow("w")
    wf.step("src", lambda: 1)
    for name in ("a", "b"):
        wf.add(capability_step(name, "work.big", wait_for="src"))
    wf.add(capability_step("c", "work.small", wait_for="src"))
    wf.add(engine_step("d", "small", wait_for=["a", "b", "c"]))
    wf.add(capability_step("h", "work.huge", wait_for="d"))
    system = start(big, small, huge, resources={"memory_mb": 1000, "cpu": 4})
    plan = system.plan(wf)
    system.close()
    assert plan.levels == (("src",), ("a", "b", "c"), ("d",), ("h",))
    assert plan.critical_path == ("src", "a", "d", "h")
    assert plan.widest_level == 1
    assert plan.peak_demand == {"memory_mb": 5000, "cpu": 1}
    assert plan.serialised == {"memory_mb": 2} and plan.bottleneck == "memory_mb"
    assert plan.problems == (
        "step 'h' needs 5000 of pool 'memory_mb', which holds only 1000: it could never run; "
        "enlarge the pool or lower the need",
    )
    text = plan.render()
    assert "bottleneck: memory_mb" in text and "critical path (4 steps)" in text
