"""Failure paths: retries, timeouts, compensation, rollback, and the errors a caller sees."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from workflow_helpers import (
    ContinueWith,
    ExecutionContext,
    Halt,
    HybridCoreError,
    RetryPolicy,
    RetryStep,
    RunStatus,
    StepFailed,
    StepStatus,
    StepTimeout,
    UndoFailed,
    Workflow,
    WorkflowError,
    WorkflowFailed,
    bus,
    input,
    result,
    run,
)

NO_WAIT = RetryPolicy(max_attempts=3, backoff=0.0)


class Flaky:
    """Fails the first ``failures`` calls with ``error``, then returns ``value``."""

    def __init__(self, failures: int, value: Any = "ok", error: type[Exception] = OSError) -> None:
        self.failures = failures
        self.value = value
        self.error = error
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"attempt {self.calls} failed")
        return self.value


def test_a_step_is_retried_until_it_succeeds() -> None:
    telemetry, sink = bus()
    flaky = Flaky(2)
    wf = Workflow("retry")
    wf.step("flaky", flaky, retry=NO_WAIT)
    wf.returns("flaky")
    out = run(wf, telemetry=telemetry)
    assert out.value == "ok"
    assert flaky.calls == 3
    rec = out.steps["flaky"]
    assert (rec.status, rec.attempts) == (StepStatus.SUCCEEDED, 3)
    assert isinstance(rec.error, OSError), "the last failed attempt's error is kept"
    retries = sink.named("step.retry")
    assert [e.attributes["attempt"] for e in retries] == [1, 2]
    assert retries[0].attributes["error"] == "OSError: attempt 1 failed"


def test_only_errors_in_retry_on_are_retried() -> None:
    flaky = Flaky(1, error=KeyError)
    wf = Workflow("picky")
    wf.step("flaky", flaky, retry=RetryPolicy(max_attempts=3, backoff=0.0, retry_on=OSError))
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert flaky.calls == 1
    assert out.steps["flaky"].attempts == 1


def test_a_step_that_keeps_failing_fails_the_run_with_a_named_error() -> None:
    def broken(path: str) -> None:
        try:
            open(path)  # noqa: SIM115 - the error chain is the point
        except OSError as exc:
            raise ValueError("cannot read the config") from exc

    wf = Workflow("fails", inputs=["path"])
    wf.step("read", broken, path=input("path"), retry=NO_WAIT)
    out = run(wf, {"path": "/nonexistent/file.toml"})
    assert out.status is RunStatus.FAILED
    error = out.error
    assert isinstance(error, StepFailed)
    assert (error.step, error.attempts, error.workflow) == ("read", 3, "fails")
    assert isinstance(error.__cause__, ValueError)
    assert error.path == ("read",)
    text = str(error)
    assert "\n" not in text
    assert text.startswith("step 'read' of workflow 'fails' failed after 3 attempts: ")
    assert "ValueError: cannot read the config (caused by FileNotFoundError:" in text
    assert out.steps["read"].error is error
    with pytest.raises(WorkflowFailed) as caught:
        out.unwrap()
    assert caught.value.result is out
    assert caught.value.__cause__ is error
    assert str(caught.value).startswith("workflow 'fails' failed: step 'read'")
    assert isinstance(caught.value, HybridCoreError)


def test_a_halt_is_neither_retried_nor_compensated() -> None:
    calls: list[str] = []

    def stop() -> None:
        calls.append("stop")
        raise Halt("waiting for approval")

    wf = Workflow("halt")
    wf.step("stop", stop, retry=NO_WAIT, compensate=lambda e: calls.append("compensate"))
    out = run(wf)
    assert out.status is RunStatus.HALTED
    assert calls == ["stop"]


def test_a_slow_attempt_times_out_and_is_retried() -> None:
    attempts: list[int] = []

    async def slow_then_fast() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            await asyncio.sleep(10)
        return "fast"

    wf = Workflow("timeouts")
    wf.step("call", slow_then_fast, timeout=0.05, retry=NO_WAIT)
    wf.returns("call")
    out = run(wf)
    assert out.value == "fast"
    assert len(attempts) == 2
    assert isinstance(out.steps["call"].error, StepTimeout)


def test_a_step_that_always_times_out_fails_with_step_timeout() -> None:
    async def hang() -> None:
        await asyncio.sleep(10)

    def hang_in_thread() -> None:
        time.sleep(0.3)

    wf = Workflow("hang")
    wf.step("hang", hang, timeout=0.02)
    wf.step("thread", hang_in_thread, timeout=0.02, blocking=True)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    failed = [r for r in out.steps.values() if r.status is StepStatus.FAILED]
    assert len(failed) >= 1
    error = failed[0].error
    assert isinstance(error, StepFailed) and isinstance(error.cause, StepTimeout)
    assert "took longer than its timeout of 0.02s" in str(error)
    assert isinstance(error.cause, TimeoutError)


def test_compensation_can_continue_with_a_substitute_value() -> None:
    telemetry, sink = bus()
    seen: dict[str, Any] = {}

    def compensate(error: Exception, arguments: dict[str, Any], attempt: int, step: str) -> Any:
        seen.update(error=error, arguments=arguments, attempt=attempt, step=step)
        return ContinueWith(["cached"])

    wf = Workflow("comp", inputs=["url"])
    wf.step("fetch", Flaky(5), compensate=compensate, arguments={})
    wf.step("use", lambda items: [*items, "used"], items=result("fetch"))
    wf.returns("use")
    out = run(wf, {"url": "u"}, telemetry=telemetry)
    assert out.value == ["cached", "used"]
    rec = out.steps["fetch"]
    assert rec.status is StepStatus.COMPENSATED
    assert rec.result == ["cached"]
    assert isinstance(rec.error, OSError), "the failure behind the substitute is kept"
    assert isinstance(seen["error"], OSError)
    assert (seen["arguments"], seen["attempt"], seen["step"]) == ({}, 1, "fetch")
    (event,) = sink.named("step.compensate")
    assert event.attributes["decision"] == "continue"


def test_compensation_can_ask_for_a_retry_within_the_attempts() -> None:
    flaky = Flaky(1, error=KeyError)
    wf = Workflow("comp")
    policy = RetryPolicy(max_attempts=2, backoff=0.0, retry_on=())
    wf.step("call", flaky, retry=policy, compensate=lambda error: RetryStep())
    wf.returns("call")
    assert run(wf).value == "ok"
    assert flaky.calls == 2


def test_a_retry_asked_for_beyond_the_attempts_lets_the_failure_stand() -> None:
    flaky = Flaky(10, error=KeyError)
    wf = Workflow("comp")
    policy = RetryPolicy(max_attempts=3, backoff=0.0, retry_on=())
    wf.step("call", flaky, retry=policy, compensate=lambda error: RetryStep())
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert flaky.calls == 3
    assert "compensation asked for another attempt, but all 3" in str(out.error)


async def _raise_in_compensation(error: Exception) -> None:
    raise RuntimeError("compensation broke")


@pytest.mark.parametrize(
    ("compensate", "expected"),
    [
        (lambda error: None, "OSError: attempt 1 failed"),
        (lambda error: "shrug", "its compensation returned 'shrug', which is neither"),
        (_raise_in_compensation, "its compensation raised RuntimeError: compensation broke"),
    ],
)
def test_compensation_can_let_the_failure_stand(compensate: Any, expected: str) -> None:
    wf = Workflow("comp")
    wf.step("call", Flaky(1), compensate=compensate)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert expected in str(out.error)
    assert out.steps["call"].attempts == 1


def test_a_compensation_may_take_the_context() -> None:
    seen: list[ExecutionContext] = []

    def compensate(error: Exception, context: ExecutionContext) -> ContinueWith:
        seen.append(context)
        return ContinueWith(0)

    wf = Workflow("comp")
    wf.step("call", Flaky(1), compensate=compensate)
    assert run(wf).ok
    assert seen[0].name == "call"


def test_a_failure_rolls_back_completed_steps_newest_first() -> None:
    undone: list[tuple[str, Any, Any]] = []

    def undo(name: str) -> Any:
        def hook(result: Any, arguments: dict[str, Any]) -> None:
            undone.append((name, result, arguments))

        return hook

    never: list[str] = []
    wf = Workflow("saga", inputs=["order"])
    wf.step("reserve", lambda order: f"r-{order}", order=input("order"), undo=undo("reserve"))
    wf.step("note", lambda r: "noted", r=result("reserve"))
    wf.step("charge", lambda r: "c-1", r=result("reserve"), undo=undo("charge"))
    wf.step("ship", Flaky(9, error=RuntimeError), wait_for="charge")
    wf.step("email", lambda: never.append("email"), wait_for="ship")
    out = run(wf, {"order": 7})
    assert out.status is RunStatus.FAILED
    assert undone == [
        ("charge", "c-1", {"r": "r-7"}),
        ("reserve", "r-7", {"order": 7}),
    ]
    statuses = {name: rec.status for name, rec in out.steps.items()}
    assert statuses == {
        "reserve": StepStatus.UNDONE,
        "note": StepStatus.SUCCEEDED,
        "charge": StepStatus.UNDONE,
        "ship": StepStatus.FAILED,
        "email": StepStatus.PENDING,
    }
    assert never == []
    assert out.results == {"note": "noted"}, "results of steps not undone are kept"


def test_running_steps_are_cancelled_when_a_step_fails() -> None:
    cancelled: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    async def fail() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    wf = Workflow("cancel")
    wf.step("slow", slow, undo=lambda r: cancelled.append("undo-slow"))
    wf.step("fail", fail)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert cancelled == ["slow"], "a cancelled step never completed, so it is not undone"
    rec = out.steps["slow"]
    assert rec.status is StepStatus.CANCELLED
    assert "step 'fail' failed" in str(rec.error)


def test_undo_errors_are_collected_and_the_other_undos_still_run() -> None:
    undone: list[str] = []

    def bad_undo(result: Any) -> None:
        raise OSError(f"cannot undo {result}")

    wf = Workflow("undo")
    wf.step("a", lambda: "a", undo=undone.append)
    wf.step("b", lambda a: "b", a=result("a"), undo=bad_undo)
    wf.step("c", lambda b: "c", b=result("b"), undo=bad_undo)
    wf.step("d", Flaky(1), wait_for="c")
    telemetry, sink = bus()
    out = run(wf, telemetry=telemetry)
    assert undone == ["a"]
    assert [e.step for e in out.undo_errors] == ["c", "b"]
    assert all(isinstance(e, UndoFailed) for e in out.undo_errors)
    assert "undoing step 'c' of workflow 'undo' failed: OSError: cannot undo c" in str(
        out.undo_errors[0]
    )
    assert out.steps["b"].status is StepStatus.UNDO_FAILED
    assert out.steps["b"].undo_error is out.undo_errors[1]
    assert [e.attributes["status"] for e in sink.named("step.undo")] == [
        "undo_failed",
        "undo_failed",
        "undone",
    ]
    with pytest.raises(WorkflowFailed, match="2 undo"):
        out.raise_for_status()


def test_undo_can_be_async_and_take_the_context() -> None:
    seen: list[str] = []

    async def undo(result: Any, context: ExecutionContext) -> None:
        await asyncio.sleep(0)
        seen.append(f"{result}@{context.name}")

    wf = Workflow("undo")
    wf.step("a", lambda: "a", undo=undo)
    wf.step("b", Flaky(1), wait_for="a")
    run(wf)
    assert seen == ["a@a"]


def test_a_bad_path_fails_the_consuming_step_before_it_starts() -> None:
    calls: list[Any] = []
    wf = Workflow("path")
    wf.step("a", lambda: {"files": []})

    def record(f: Any) -> None:
        calls.append(f)

    wf.step("b", record, f=result("a", "files", 0), retry=NO_WAIT)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    error = out.error
    assert isinstance(error, StepFailed) and error.attempts == 0
    assert "failed before it started" in str(error)
    assert "result('a', 'files', 0): no key, index or attribute 0 in a list" in str(error)
    assert calls == []


def test_a_return_that_cannot_be_built_fails_the_run() -> None:
    wf = Workflow("ret")
    wf.step("a", lambda: {}, undo=lambda r: None)
    wf.returns(result("a", "missing"))
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert isinstance(out.error, WorkflowError)
    assert "its return could not be built" in str(out.error)
    assert out.steps["a"].status is StepStatus.UNDONE


def test_a_where_predicate_that_raises_fails_the_step() -> None:
    def predicate() -> bool:
        raise ZeroDivisionError("bad guard")

    wf = Workflow("guard")
    wf.step("a", lambda: 1, where=predicate)
    out = run(wf)
    assert out.status is RunStatus.FAILED
    assert "ZeroDivisionError: bad guard" in str(out.error)
