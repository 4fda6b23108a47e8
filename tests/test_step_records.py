"""What a finished run's step records read: every field, whichever steps have it.

A record keeps the common facts itself and reads its times and the facts few steps have
from its run; these tests read each field back from real runs, including a resume, whose
records must be its own.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from workflow_helpers import (
    SKIPPED,
    Halt,
    RetryPolicy,
    RunStatus,
    StepStatus,
    Workflow,
    input,
    result,
    resume,
    run,
)


def _waits(x: int) -> int:
    time.sleep(0.01)
    return x + 1


def test_each_status_reads_its_times_result_and_error() -> None:
    calls = {"flaky": 0}

    def flaky(x: int) -> int:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise OSError(f"attempt {calls['flaky']} failed")
        return x * 10

    def broken(x: int) -> int:
        raise ValueError("no")

    wf = Workflow("records", inputs=["x"])
    wf.step("first", _waits, x=input("x"))
    wf.step("skipped", _waits, x=result("first"), where=lambda x: x < 0)
    wf.step("flaky", flaky, x=result("first"), retry=RetryPolicy(max_attempts=3, backoff=0.0))
    wf.step("broken", broken, x=result("flaky"))
    wf.step("never", _waits, x=result("broken"))
    out = run(wf, {"x": 1})
    assert out.status is RunStatus.FAILED

    first = out.steps["first"]
    assert (first.name, first.kind, first.status) == ("first", "function", StepStatus.SUCCEEDED)
    assert (first.attempts, first.result, first.error) == (1, 2, None)
    assert first.start is not None and first.start >= 0.0
    assert first.duration is not None and first.duration >= 0.01
    assert (first.provider, first.fallback, first.children, first.undo_error) == (
        None,
        None,
        (),
        None,
    )

    skipped = out.steps["skipped"]
    assert (skipped.status, skipped.result, skipped.duration) == (
        StepStatus.SKIPPED,
        SKIPPED,
        0.0,
    )

    flaky_rec = out.steps["flaky"]
    assert (flaky_rec.status, flaky_rec.attempts, flaky_rec.result) == (
        StepStatus.SUCCEEDED,
        3,
        20,
    )
    assert isinstance(flaky_rec.error, OSError) and "attempt 2" in str(flaky_rec.error)
    assert flaky_rec.start is not None and flaky_rec.start >= first.start + first.duration

    broken_rec = out.steps["broken"]
    assert broken_rec.status is StepStatus.FAILED
    assert "ValueError: no" in str(broken_rec.error)
    assert broken_rec.duration is not None

    never = out.steps["never"]
    assert (never.status, never.attempts, never.start, never.duration) == (
        StepStatus.PENDING,
        0,
        None,
        None,
    )
    assert "broken [function] failed" in out.summary()


def test_a_resumed_run_copies_what_it_takes_over_into_records_of_its_own() -> None:
    state = {"halt": True}

    def gate(x: int) -> int:
        if state["halt"]:
            raise Halt("waiting")
        return x

    wf = Workflow("resumed", inputs=["x"])
    wf.step("before", _waits, x=input("x"))
    wf.step("gate", gate, x=result("before"))
    wf.step("after", _waits, x=result("gate"))
    wf.returns("after")
    halted = run(wf, {"x": 1})
    assert halted.status is RunStatus.HALTED
    old = halted.steps["before"]
    old_times = (old.start, old.duration)
    assert halted.steps["after"].start is None

    state["halt"] = False
    done = resume(halted)
    assert done.value == 3
    new = done.steps["before"]
    assert new is not old
    assert (new.status, new.attempts, new.result) == (StepStatus.SUCCEEDED, 1, 2)
    assert (new.start, new.duration) == old_times
    # The resumed run's own steps are timed in its own records; the old run's stay as
    # they were.
    assert done.steps["after"].start is not None
    assert halted.steps["after"].start is None
    assert halted.steps["after"].status is StepStatus.PENDING
    new.duration = 99.0
    assert old.duration == old_times[1]


def _records(out: Any) -> list[Any]:
    """Every record of ``out``, the nested runs' included."""
    found = []
    for record in out.steps.values():
        found.append(record)
        for child in record.children:
            if child is not None:
                found += _records(child)
    return found


def test_every_way_a_run_ends_packs_its_times_and_keeps_them_readable() -> None:
    # While a run goes on its records' times live in a list of floats; once it has ended
    # they are packed, 16 bytes a step. A run left unpacked would still read right but
    # keep several times the memory, so each way a run can end is checked here.
    state = {"halt": True}

    def gate(x: int) -> int:
        if state["halt"]:
            raise Halt("waiting")
        return x

    def broken(x: int) -> int:
        raise ValueError("no")

    async def slow(x: int) -> int:
        await asyncio.sleep(10.0)
        return x

    inner = Workflow("inner", inputs=["x"])
    inner.step("work", _waits, x=input("x"))
    inner.returns("work")
    mapped = Workflow("mapped")
    mapped.map("each", inner, over=[1, 2])
    mapped.returns("each")

    failing = Workflow("failing", inputs=["x"])
    failing.step("first", _waits, x=input("x"))
    failing.step("broken", broken, x=result("first"))

    halting = Workflow("halting", inputs=["x"])
    halting.step("gate", gate, x=input("x"))
    halting.step("after", _waits, x=result("gate"))

    late = Workflow("late", inputs=["x"])
    late.step("slow", slow, x=input("x"))

    succeeded = run(mapped)
    failed = run(failing, {"x": 1})
    halted = run(halting, {"x": 1})
    state["halt"] = False
    resumed = resume(halted)
    timed_out = run(late, {"x": 1}, timeout=0.05)
    outcomes = [succeeded, failed, halted, resumed, timed_out]
    assert [o.status for o in outcomes] == [
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.HALTED,
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
    ]
    assert len(_records(succeeded)) == 3, "the map's two element runs are there"
    for out in outcomes:
        for record in _records(out):
            assert record._frame.live is None, f"{out.workflow.name}: {record.name} not packed"
    each = succeeded.steps["each"]
    assert each.start is not None and each.duration is not None and each.duration >= 0.01
    assert failed.steps["broken"].status is StepStatus.FAILED
    assert failed.steps["broken"].start is not None
    assert halted.steps["after"].start is None
    assert resumed.steps["after"].start is not None
    assert timed_out.steps["slow"].start is not None
