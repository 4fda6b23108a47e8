"""Running workflows: step kinds by calling style, concurrency, context, telemetry, sync runs."""

from __future__ import annotations

import asyncio
import pickle
import threading
from typing import Any

from workflow_helpers import (
    SKIPPED,
    ExecutionContext,
    LocalExecutor,
    RecordingExecutor,
    RunStatus,
    StepRecord,
    StepStatus,
    TelemetryBus,
    Workflow,
    arun,
    bus,
    in_loop,
    input,
    result,
    run,
    run_sync,
)


def square(x: int) -> int:
    """Module level, so that a process pool can import it."""
    return x * x


def test_sync_async_and_blocking_functions_all_run() -> None:
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    wf = Workflow("mixed", inputs=["n"])
    wf.step("fetch", fetch, n=input("n"))
    wf.step("crunch", square, x=result("fetch"), blocking=True)
    wf.step("label", lambda v: f"v={v}", v=result("crunch"))
    wf.returns("label")
    executor = RecordingExecutor()
    out = run(wf, {"n": 2}, executor=executor)
    assert out.status is RunStatus.SUCCEEDED
    assert out.value == "v=9"
    assert [c.fn for c in executor.calls] == [square]
    assert executor.calls[0].kwargs == {"x": 3}


def test_blocking_calls_travel_as_picklable_calls_without_the_context() -> None:
    wf = Workflow("travel", inputs=["x"])
    wf.step("sq", square, x=input("x"), blocking=True)
    executor = RecordingExecutor()
    run(wf, {"x": 4}, executor=executor)
    (call,) = executor.calls
    assert "context" not in call.kwargs
    restored = pickle.loads(pickle.dumps(call))
    assert restored() == 16


def test_blocking_process_steps_run_in_another_process() -> None:
    wf = Workflow("proc", inputs=["x"])
    wf.step("sq", square, x=input("x"), blocking="process")
    wf.returns("sq")
    executor = LocalExecutor(name="procs", max_processes=1)
    try:
        assert run(wf, {"x": 7}, executor=executor).value == 49
    finally:
        executor.close()


def test_blocking_steps_do_not_block_the_event_loop() -> None:
    released = threading.Event()

    def wait_for_release() -> bool:
        # Only returns True if the async step below ran while this one was blocking.
        return released.wait(timeout=5)

    async def release() -> None:
        await asyncio.sleep(0.01)
        released.set()

    wf = Workflow("parallel")
    wf.step("blocker", wait_for_release, blocking=True)
    wf.step("releaser", release)
    wf.returns("blocker")
    assert run(wf).value is True


def test_every_ready_step_starts_at_once() -> None:
    width = 20
    arrived: list[int] = []
    gate = asyncio.Event()

    async def meet(k: int) -> int:
        arrived.append(k)
        if len(arrived) == width:
            gate.set()
        await asyncio.wait_for(gate.wait(), timeout=5)
        return k

    async def scenario() -> Any:
        wf = Workflow("barrier")
        for k in range(width):
            wf.step(f"m{k}", meet, k=k)
        wf.returns([f"m{k}" for k in range(width)])
        return await arun(wf)

    out = in_loop(scenario)
    assert out.status is RunStatus.SUCCEEDED, out.summary()
    assert list(out.value) == list(range(width))


def test_max_concurrency_bounds_running_steps() -> None:
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    wf = Workflow("bounded")
    for k in range(12):
        wf.step(f"w{k}", work)
    out = run(wf, max_concurrency=3)
    assert out.ok
    assert peak == 3


def test_ready_steps_start_in_definition_order() -> None:
    started: list[str] = []

    def mark(name: str) -> str:
        started.append(name)
        return name

    wf = Workflow("order")
    wf.step("root", mark, name="root")
    for name in ("c", "a", "b"):
        wf.step(name, mark, name=name, wait_for="root")
    wf.step("end", mark, name="end", wait_for=["c", "a", "b"])
    run(wf, max_concurrency=1)
    assert started == ["root", "c", "a", "b", "end"]


def test_a_step_declaring_context_gets_its_own_child_context() -> None:
    seen: dict[str, ExecutionContext] = {}

    async def probe(context: ExecutionContext) -> str:
        seen["async"] = context
        return context.name

    def blocking_probe(context: ExecutionContext) -> str:
        seen["blocking"] = context
        seen["thread"] = threading.current_thread().name  # type: ignore[assignment]
        return context.name

    parent = ExecutionContext.root(name="host", run_id="run-1")
    wf = Workflow("ctx")
    wf.step("probe", probe)
    wf.step("blocking_probe", blocking_probe, blocking=True, timeout=5)
    wf.returns(["probe", "blocking_probe"])
    out = run(wf, context=parent)
    assert out.value == ("probe", "blocking_probe")
    for ctx in (seen["async"], seen["blocking"]):
        assert ctx.run_id == "run-1"
        assert ctx.trace_id == parent.trace_id
        assert ctx.parent is not None and ctx.parent.name == "ctx"
        assert ctx.parent.parent is parent
        assert ctx.state is parent.state
    assert seen["blocking"].deadline is not None, "the step's timeout shortens its deadline"
    assert seen["thread"] != threading.main_thread().name  # type: ignore[comparison-overlap]


def test_a_step_without_context_parameter_gets_none() -> None:
    wf = Workflow("plain")
    wf.step("kw", lambda **kw: sorted(kw))
    wf.returns("kw")
    assert run(wf).value == []


def test_where_skips_a_step_and_dependants_see_skipped() -> None:
    ran: list[str] = []

    async def is_big(n: int) -> bool:
        return n > 10

    def big(n: int) -> dict[str, str]:
        ran.append("big")
        return {"size": "big"}

    wf = Workflow("guard", inputs=["n"])
    wf.step("big", big, n=input("n"), where=is_big)
    wf.step("small", lambda n: "small", n=input("n"), where=lambda n: n <= 10)
    wf.step("after", lambda b: b, b=result("big"))
    wf.step("path", lambda b: b, b=result("big", "size"))
    wf.returns(["big", "small", "after", "path"])
    out = run(wf, {"n": 3}, telemetry=bus()[0])
    assert out.value == (SKIPPED, "small", SKIPPED, SKIPPED)
    assert ran == []
    assert out.steps["big"].status is StepStatus.SKIPPED
    assert out.steps["after"].status is StepStatus.SUCCEEDED
    expected = {"size": "big"}
    assert run(wf, {"n": 30}).value == (expected, SKIPPED, expected, "big")


def test_where_sees_only_the_arguments_it_names() -> None:
    wf = Workflow("guard", inputs=["a", "b"])
    wf.step("s", lambda a, b: a + b, a=input("a"), b=input("b"), where=lambda b: b > 0)
    wf.returns("s")
    assert run(wf, {"a": 1, "b": 2}).value == 3
    assert run(wf, {"a": 1, "b": -2}).value is SKIPPED


def test_telemetry_events_carry_step_names_and_fields() -> None:
    telemetry, sink = bus()
    wf = Workflow("tele", inputs=["n"])
    wf.step("one", lambda n: n, n=input("n"))
    wf.step("two", lambda x: x, x=result("one"), where=lambda x: x > 100)
    wf.returns("one")
    out = run(wf, {"n": 1}, telemetry=telemetry)
    names = [e.name for e in sink.events]
    assert names == ["run.start", "step.start", "step.stop", "step.skip", "run.stop"]
    start, _, stop, skip, end = sink.events
    assert start.attributes["workflow"] == "tele"
    assert start.attributes["steps"] == 2
    assert start.attributes["inputs"] == ("n",)
    assert stop.step == "one"
    assert stop.attributes["status"] == "succeeded"
    assert stop.attributes["attempts"] == 1
    assert stop.attributes["kind"] == "function"
    assert stop.duration is not None
    assert skip.step == "two"
    assert end.attributes["status"] == "succeeded"
    assert end.duration == out.duration
    assert {e.run_id for e in sink.events} == {out.run_id}


def test_no_event_is_built_when_telemetry_is_off() -> None:
    class Watching(TelemetryBus):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def emit(self, *args: Any, **kwargs: Any) -> None:
            self.calls += 1

    telemetry = Watching()
    wf = Workflow("quiet")
    wf.step("a", lambda: 1)
    wf.step("b", lambda a: a, a=result("a"), where=lambda a: False)
    assert run(wf, telemetry=telemetry).ok
    assert telemetry.calls == 0


def test_on_step_hears_every_settled_step_once() -> None:
    heard: list[tuple[str, str]] = []

    def journal(context: ExecutionContext, record: StepRecord) -> None:
        heard.append((record.name, record.status.value))

    wf = Workflow("journal")
    wf.step("a", lambda: 1)
    wf.step("b", lambda a: a, a=result("a"), where=lambda a: False)
    wf.step("c", lambda a: a, a=result("a"))
    run(wf, on_step=journal)
    assert heard == [("a", "succeeded"), ("b", "skipped"), ("c", "succeeded")]


def test_a_failing_on_step_fails_the_run() -> None:
    def journal(context: ExecutionContext, record: StepRecord) -> None:
        raise OSError("disk full")

    wf = Workflow("journal")
    wf.step("a", lambda: 1)
    wf.step("b", lambda a: a, a=result("a"))
    out = run(wf, on_step=journal)
    assert out.status is RunStatus.FAILED
    assert isinstance(out.error, OSError)
    assert out.steps["b"].status is StepStatus.PENDING


def test_long_chains_run_without_recursion() -> None:
    wf = Workflow("chain")
    wf.step("s0", lambda: 0)
    for k in range(1, 3000):
        wf.step(f"s{k}", lambda x: x + 1, x=result(f"s{k - 1}"))
    wf.returns("s2999")
    assert run(wf).value == 2999


def test_run_sync_works_with_and_without_a_running_loop() -> None:
    wf = Workflow("sync", inputs=["n"])
    wf.step("twice", lambda n: n * 2, n=input("n"))
    wf.returns("twice")
    assert run_sync(lambda: arun(wf, {"n": 2})).value == 4

    async def inside_a_loop() -> int:
        # A host calling the sync API from async code: it runs on a worker thread.
        return int(run_sync(lambda: arun(wf, {"n": 5})).value)

    assert asyncio.run(inside_a_loop()) == 10


def test_the_result_holds_records_for_every_step() -> None:
    wf = Workflow("records")
    wf.step("a", lambda: {"k": 1})
    wf.step("b", lambda a: a["k"], a=result("a"))
    out = run(wf)
    assert list(out.steps) == ["a", "b"]
    assert out.completed == ("a", "b")
    assert out.results == {"a": {"k": 1}, "b": 1}
    rec = out.steps["b"]
    assert (rec.status, rec.attempts, rec.result, rec.error) == (StepStatus.SUCCEEDED, 1, 1, None)
    assert rec.start is not None and rec.duration is not None and rec.duration >= 0
    assert out.unwrap() is None
    assert out.raise_for_status() is out
    assert "records" in repr(out) and "a [function] succeeded" in out.summary()


def total(parts: list[int]) -> int:
    return sum(parts)


def fan_out(leaf: Any, width: int) -> Workflow:
    wf = Workflow("fan", inputs=["x"])
    wf.step("source", lambda x: x, x=input("x"))
    for i in range(width):
        wf.step(f"leaf{i}", leaf, x=result("source"), i=i)
    wf.step("sink", total, parts=[result(f"leaf{i}") for i in range(width)])
    return wf.returns("sink")


def test_a_fan_out_of_steps_that_never_suspend_runs_on_few_tasks() -> None:
    async def leaf(x: int, i: int) -> int:
        return x + i

    async def scenario() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        made = 0

        def factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
            nonlocal made
            made += 1
            return asyncio.Task(coro, loop=loop)

        loop.set_task_factory(factory)
        outcome = await arun(fan_out(leaf, 2000), {"x": 1})
        return outcome.unwrap(), made

    value, made = in_loop(scenario)
    assert value == 2000 + sum(range(2000))
    assert made < 200  # the workers there take the ready leaves: not a task per leaf


def test_every_ready_step_that_suspends_gets_a_worker() -> None:
    # Each leaf waits until every leaf has started: with fewer workers than leaves
    # running at once, the run would never finish.
    width = 500

    async def scenario() -> int:
        started = 0
        everyone = asyncio.Event()

        async def leaf(x: int, i: int) -> int:
            nonlocal started
            started += 1
            if started == width:
                everyone.set()
            await asyncio.wait_for(everyone.wait(), timeout=60)
            return i

        outcome = await arun(fan_out(leaf, width), {"x": 0})
        return outcome.unwrap()

    assert in_loop(scenario) == sum(range(width))


def test_a_long_run_of_steps_that_never_suspend_lets_the_loop_run_others() -> None:
    # 400 steps of about a millisecond of CPU each, none awaiting anything: timers and
    # other tasks still run while the chain does, not only after it.
    import time as clock

    done: list[int] = []

    def busy(x: int) -> int:
        until = clock.perf_counter() + 0.001
        while clock.perf_counter() < until:
            pass
        done.append(x)
        return x + 1

    async def scenario() -> tuple[int, list[int]]:
        wf = Workflow("busy", inputs=["x"])
        for i in range(400):
            wf.step(f"s{i}", busy, x=result(f"s{i - 1}") if i else input("x"))
        wf.returns("s399")
        seen: list[int] = []

        async def ticker() -> None:
            while True:
                await asyncio.sleep(0)
                seen.append(len(done))

        tick = asyncio.ensure_future(ticker())
        outcome = await arun(wf, {"x": 0})
        tick.cancel()
        return outcome.unwrap(), seen

    value, seen = in_loop(scenario)
    assert value == 400
    assert any(0 < n < 400 for n in seen)  # the ticker ran while the chain was running
