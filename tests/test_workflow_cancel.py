"""Cancellation and deadlines reach every step, nested ones included, and roll the run back."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from workflow_helpers import (
    Cancelled,
    DeadlineExceeded,
    ExecutionContext,
    RunResult,
    RunStatus,
    StepStatus,
    Workflow,
    WorkflowCancelled,
    WorkflowFailed,
    arun,
    bus,
    in_loop,
    result,
    run,
)


class Sleeper:
    """An async step that sleeps, noting whether it finished or was cancelled."""

    def __init__(self, seconds: float, log: list[str], name: str) -> None:
        self.seconds = seconds
        self.log = log
        self.name = name

    async def __call__(self) -> str:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.log.append(f"{self.name} cancelled")
            raise
        self.log.append(f"{self.name} finished")
        return self.name


def saga(log: list[str]) -> Workflow:
    wf = Workflow("saga")
    wf.step("book", lambda: "booked", undo=lambda r: log.append(f"undo {r}"))
    wf.step("wait", Sleeper(10, log, "wait"), wait_for="book")
    wf.step("after", lambda w: log.append("after"), w=result("wait"))
    return wf


def test_cancelling_the_context_from_another_thread_stops_and_rolls_back() -> None:
    log: list[str] = []
    context = ExecutionContext.root(name="host")
    timer = threading.Timer(0.05, context.cancel, args=("user pressed stop",))
    timer.start()
    out = run(saga(log), context=context)
    timer.join()
    assert out.status is RunStatus.CANCELLED
    assert isinstance(out.error, Cancelled)
    assert "user pressed stop" in str(out.error)
    assert log == ["wait cancelled", "undo booked"]
    assert out.steps["wait"].status is StepStatus.CANCELLED
    assert out.steps["after"].status is StepStatus.PENDING
    assert out.steps["book"].status is StepStatus.UNDONE
    with pytest.raises(WorkflowCancelled, match="user pressed stop"):
        out.unwrap()


def test_an_already_cancelled_context_runs_nothing() -> None:
    log: list[str] = []
    context = ExecutionContext.root()
    context.cancel("too late")
    out = run(saga(log), context=context)
    assert out.status is RunStatus.CANCELLED
    assert log == []
    assert {r.status for r in out.steps.values()} == {StepStatus.PENDING}


def test_cancelling_the_awaiting_task_rolls_back_then_reraises() -> None:
    log: list[str] = []

    async def scenario() -> RunResult | None:
        task = asyncio.ensure_future(arun(saga(log)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Awaited directly (as nested runs are), the error carries the partial result.
        current = asyncio.current_task()
        assert current is not None
        asyncio.get_running_loop().call_later(0.05, current.cancel)
        try:
            await arun(saga(log))
        except asyncio.CancelledError as stop:
            return getattr(stop, "run_result", None)
        return None

    partial = in_loop(scenario)
    assert log == ["wait cancelled", "undo booked"] * 2
    assert partial is not None and partial.status is RunStatus.CANCELLED
    assert partial.steps["book"].status is StepStatus.UNDONE


def test_the_overall_deadline_stops_the_run() -> None:
    log: list[str] = []
    telemetry, sink = bus()
    out = run(saga(log), timeout=0.05, telemetry=telemetry)
    assert out.status is RunStatus.FAILED
    assert isinstance(out.error, DeadlineExceeded)
    assert str(out.error) == (
        "workflow 'saga' passed its deadline; running steps stopped: 'wait'"
    )
    assert log == ["wait cancelled", "undo booked"]
    with pytest.raises(WorkflowFailed, match="deadline"):
        out.raise_for_status()
    (stop,) = sink.named("run.stop")
    assert stop.attributes["status"] == "failed"
    assert "running steps stopped: 'wait'" in str(stop.attributes["error"])


def test_a_deadline_already_passed_runs_nothing() -> None:
    log: list[str] = []
    context = ExecutionContext.root(timeout=0.0)
    out = run(saga(log), context=context)
    assert out.status is RunStatus.FAILED
    assert isinstance(out.error, DeadlineExceeded)
    assert log == []


def test_the_deadline_reaches_composed_and_mapped_steps() -> None:
    log: list[str] = []
    inner = Workflow("inner")
    inner.step("done", lambda: "quick", undo=lambda r: log.append("undo inner"))
    inner.step("deep", Sleeper(10, log, "deep"), wait_for="done")
    element = Workflow("element", inputs=["k"])
    element.step("nap", Sleeper(10, log, "nap"))
    outer = Workflow("outer")
    outer.compose("sub", inner)
    outer.map("each", element, over=[1, 2])
    out = run(outer, timeout=0.05)
    assert out.status is RunStatus.FAILED
    assert sorted(log) == ["deep cancelled", "nap cancelled", "nap cancelled", "undo inner"]
    sub = out.steps["sub"]
    assert sub.status is StepStatus.CANCELLED
    (child,) = sub.children
    assert child is not None, "the nested run's records are kept"
    assert child.steps["done"].status is StepStatus.UNDONE
    assert child.steps["deep"].status is StepStatus.CANCELLED
    elements = [c for c in out.steps["each"].children if c is not None]
    assert len(elements) == 2
    for element_run in elements:
        # Each nested run shares the deadline: its own timer or its parent's stops it first.
        assert element_run.status in (RunStatus.CANCELLED, RunStatus.FAILED)
        assert isinstance(element_run.error, (Cancelled, DeadlineExceeded))
        assert element_run.steps["nap"].status is StepStatus.CANCELLED


def test_step_contexts_see_the_cancellation() -> None:
    seen: list[bool] = []
    started = threading.Event()

    def cooperative(context: ExecutionContext) -> str:
        # A blocking step can only stop cooperatively: it polls its context.
        started.set()
        while not context.cancelled:
            if context.cancel_token.cancelled:
                break
            threading.Event().wait(0.001)
        seen.append(context.cancelled)
        return "stopped"

    async def fail_soon() -> None:
        await asyncio.to_thread(started.wait, 5)
        raise ValueError("boom")

    wf = Workflow("coop")
    wf.step("loop", cooperative, blocking=True)
    wf.step("fail", fail_soon)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    for _ in range(500):
        if seen:
            break
        threading.Event().wait(0.002)
    assert seen == [True]


def test_cancel_event_is_emitted_per_cancelled_step() -> None:
    log: list[str] = []
    telemetry, sink = bus()
    context = ExecutionContext.root()

    async def scenario() -> Any:
        loop = asyncio.get_running_loop()
        loop.call_later(0.03, context.cancel, "stop")
        return await arun(saga(log), context=context, telemetry=telemetry)

    out = in_loop(scenario)
    assert out.status is RunStatus.CANCELLED
    stops = {e.step: e.attributes["status"] for e in sink.named("step.stop")}
    assert stops == {"book": "succeeded", "wait": "cancelled"}
    assert [e.step for e in sink.named("step.undo")] == ["book"]
