"""The router's shortest path (an async engine with nothing around its handler) keeps
every guarantee of the general one: statistics, cooldowns, deadlines, retries, contexts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hybrid_core as hc
from hybrid_core import (
    AllProvidersFailed,
    DeadlineExceeded,
    Engine,
    ExecutionContext,
    Hybrid,
    RoutingPolicy,
)
from hybrid_core.testing import make_plugin


async def echo(payload: Any) -> Any:
    return payload


async def failing(payload: Any) -> Any:
    raise ConnectionError(f"down for {payload!r}")


def host(*engines: Engine, policy: RoutingPolicy | None = None) -> Hybrid:
    plugin = make_plugin("paths", engines=list(engines))
    return Hybrid(plugins=[plugin], entry_points=False, routing=policy or RoutingPolicy())


def test_direct_is_only_an_async_handler_with_nothing_around_it() -> None:
    def sync(payload: Any) -> Any:
        return payload

    async def with_context(payload: Any, context: ExecutionContext) -> Any:
        return payload

    caps = {"op": 1}
    assert Engine(name="a", capabilities=caps, handler=echo).direct
    assert not Engine(name="b", capabilities=caps, handler=sync).direct
    assert not Engine(name="c", capabilities=caps, handler=with_context).direct
    assert not Engine(name="d", capabilities=caps, handler=echo, timeout=1.0).direct
    assert not Engine(name="e", capabilities=caps, handler=echo, max_concurrency=2).direct
    assert not Engine(name="f", capabilities=caps, handler=echo, resources={"cpu": 1}).direct


async def test_direct_calls_keep_the_live_statistics() -> None:
    async with host(Engine(name="quick", capabilities={"op": 1}, handler=echo)) as system:
        for i in range(3):
            assert await system.aexecute("op", i) == i
        stats = system.router.stats("quick")
        assert stats.calls == 3 and stats.failures == 0 and stats.in_flight == 0
        assert stats.last_used > 0 and stats.latency >= 0


async def test_a_failing_direct_engine_cools_down_and_the_next_provider_serves() -> None:
    policy = RoutingPolicy(retries=1, backoff=0.0, cooldown_after=2, cooldown=60.0)
    engines = [
        Engine(name="broken", capabilities={"op": 20}, handler=failing),
        Engine(name="spare", capabilities={"op": 10}, handler=echo),
    ]
    async with host(*engines, policy=policy) as system:
        for i in range(2):
            served = await system.router.aserve("op", i)
            assert served.provider == "spare" and "broken failed (ConnectionError)" in str(
                served.fallback
            )
        broken = system.router.stats("broken")
        assert broken.state == "open" and broken.consecutive_failures == 2
        served = await system.router.aserve("op", 9)  # broken is cooling down: not tried
        assert served.provider == "spare" and served.fallback == "broken was cooling down"
        assert broken.calls == 2


async def test_a_context_deadline_still_bounds_a_direct_engine() -> None:
    async def slow(payload: Any) -> Any:
        await asyncio.sleep(30)
        return payload

    async with host(Engine(name="slow", capabilities={"op": 1}, handler=slow)) as system:
        ctx = ExecutionContext.root(timeout=0.05)
        with pytest.raises((DeadlineExceeded, AllProvidersFailed)) as info:
            await system.aexecute("op", 1, ctx, retries=0)
        assert "deadline" in str(info.value)


async def test_a_handler_that_takes_the_context_gets_the_calls_own() -> None:
    async def where(payload: Any, context: ExecutionContext) -> Any:
        assert context.parent is not None
        return context.name, context.parent.name, context.path

    wf = hc.Workflow("w", inputs=["x"])
    wf.add(hc.capability_step("ask", "op", payload=hc.input("x")))
    wf.returns("ask")
    async with host(Engine(name="teller", capabilities={"op": 1}, handler=where)) as system:
        assert (await system.arun(wf, x=1)).unwrap() == ("teller", "ask", "ask")


class Watching:
    """A strategy that is asked every time (not cacheable) and keeps the contexts it saw."""

    name = "watching"

    def __init__(self) -> None:
        self.seen: list[ExecutionContext | None] = []

    def order(self, candidates: Any, request: hc.RouteRequest) -> Any:
        self.seen.append(request.context)
        return list(candidates)


async def test_a_strategy_that_is_asked_sees_the_steps_context_and_so_do_the_calls() -> None:
    # The first provider fails, so the router tries the second in a second attempt: every
    # decision and the call that takes a context see one context, the step's.
    async def where(payload: Any, context: ExecutionContext) -> Any:
        return context

    watching = Watching()
    plugin = make_plugin(
        "paths",
        engines=[Engine(name="down", capabilities={"op": 2}, handler=failing),
                 Engine(name="teller", capabilities={"op": 1}, handler=where)],
        strategies=[watching],
    )  # fmt: skip
    wf = hc.Workflow("w", inputs=["x"])
    wf.add(hc.capability_step("ask", "op", strategy="watching", payload=hc.input("x")))
    wf.returns("ask")
    async with Hybrid(plugins=[plugin], entry_points=False) as system:
        result = await system.arun(wf, x=1)
        called = result.unwrap()
        assert result.steps["ask"].provider == "teller"
        assert len(watching.seen) == 2 and watching.seen[0] is watching.seen[1]
        step = watching.seen[0]
        assert step is not None and called.parent is step
        assert (step.name, step.path, step.run_id) == ("ask", "ask", result.run_id)

        # A request without a context: the strategy sees the root made for it.
        watching.seen.clear()
        assert (await system.aexecute("op", 1, strategy="watching")).parent is watching.seen[1]
        root = watching.seen[0]
        assert root is not None and root.parent is None and root.name == "op"


async def test_an_engine_steps_handler_gets_a_child_of_the_steps_context() -> None:
    async def where(payload: Any, context: ExecutionContext) -> Any:
        assert context.parent is not None
        return context.name, context.parent.name, context.path, context.run_id

    wf = hc.Workflow("w", inputs=["x"])
    wf.add(hc.engine_step("pin", "teller", payload=hc.input("x")))
    wf.returns("pin")
    async with host(Engine(name="teller", capabilities={"op": 1}, handler=where)) as system:
        result = await system.arun(wf, x=1)
        assert result.unwrap() == ("teller", "pin", "pin", result.run_id)


def test_a_step_call_makes_the_steps_context_when_first_read() -> None:
    step = hc.Step("s", invoke=lambda call: None, kind="custom")
    run = ExecutionContext.root(name="run", timeout=60)
    call = hc.StepCall(step, {}, None, 1, None, path="m[2]/s", run_context=run)  # type: ignore[arg-type]
    context = call.context
    assert context is call.context and context.parent is run and call.run_context is run
    assert (context.name, context.path, context.deadline) == ("s", "m[2]/s", run.deadline)
    given = run.child(name="own")
    assert hc.StepCall(step, {}, given, 1, None).run_context is given  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a context or a run_context"):
        hc.StepCall(step, {}, None, 1, None)  # type: ignore[arg-type]


def test_every_request_deposits_into_the_retry_budget() -> None:
    policy = RoutingPolicy(
        retries=5, backoff=0.0, retry_budget=0.5, min_retries_per_second=0.0, cooldown_after=100
    )

    async def picky(payload: Any) -> Any:
        if payload == "fail":
            raise ConnectionError("refused")
        return payload

    with host(Engine(name="picky", capabilities={"op": 1}, handler=picky), policy=policy) as s:
        budget = s.router._budget
        budget.tokens = 0
        with pytest.raises(AllProvidersFailed) as info:
            s.execute("op", "fail")  # its own deposit (0.5) buys no retry
        assert len(info.value.attempts) == 1 and "retry budget exhausted" in str(info.value)
        s.execute("op", "ok")
        s.execute("op", "ok")  # 0.5 + 0.5 + 0.5, and the next request's own: 2 retries
        with pytest.raises(AllProvidersFailed) as info:
            s.execute("op", "fail")
        assert len(info.value.attempts) == 3
        for _ in range(100):
            s.execute("op", "ok")
        assert budget.tokens == budget.cap  # never more than the bucket holds


def test_a_root_context_makes_its_cancel_token_when_asked() -> None:
    root = ExecutionContext.root(name="r")
    child = root.child(name="c").child(name="g")
    assert len(root.trace_id) == 32 and len(root.span_id) == 16
    assert int(root.trace_id, 16) and int(root.span_id, 16) and root.run_id == root.span_id
    assert not child.cancelled
    token = child.cancel_token  # links up through a root that had none yet
    assert root.cancel_token is root.cancel_token
    root.cancel("stop")
    assert token.cancelled and child.cancelled and child.cancel_token.reason == "stop"
    with pytest.raises(hc.Cancelled, match="stop"):
        child.check()
