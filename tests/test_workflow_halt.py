"""Halting a run and resuming it: only what had not completed runs again."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from workflow_helpers import (
    ExecutionContext,
    Halt,
    RunStatus,
    StepRecord,
    StepStatus,
    Workflow,
    WorkflowHalted,
    arun,
    in_loop,
    input,
    result,
    resume,
    run,
)


class Gate:
    """A step body that halts the run until ``open`` is set, counting every call."""

    def __init__(self) -> None:
        self.open = False
        self.calls = 0

    def __call__(self, x: Any) -> Any:
        self.calls += 1
        if not self.open:
            raise Halt("waiting for approval")
        return f"approved {x}"


def test_a_halted_run_resumes_without_rerunning_completed_steps() -> None:
    calls: Counter[str] = Counter()

    def count(name: str, value: Any) -> Any:
        calls[name] += 1
        return value

    gate = Gate()
    wf = Workflow("approval", inputs=["doc"])
    wf.step("prepare", lambda doc: count("prepare", doc.upper()), doc=input("doc"))
    wf.step("approve", gate, x=result("prepare"))
    wf.step("publish", lambda a: count("publish", f"published {a}"), a=result("approve"))
    wf.step("side", lambda p: count("side", "side"), p=result("prepare"))
    wf.returns("publish")

    halted = run(wf, {"doc": "memo"}, max_concurrency=1)
    assert halted.status is RunStatus.HALTED
    assert halted.halt_reason == "waiting for approval"
    assert halted.steps["approve"].status is StepStatus.HALTED
    assert halted.steps["publish"].status is StepStatus.PENDING
    assert halted.value is None
    with pytest.raises(WorkflowHalted, match="resume the run"):
        halted.unwrap()

    gate.open = True
    done = resume(halted)
    assert done.status is RunStatus.SUCCEEDED
    assert done.value == "published approved MEMO"
    assert calls == {"prepare": 1, "publish": 1, "side": 1}
    assert gate.calls == 2
    assert done.run_id == halted.run_id
    assert halted.steps["approve"].status is StepStatus.HALTED, "the old result is untouched"


def test_running_steps_finish_during_the_halt_grace_and_are_kept() -> None:
    finished: list[str] = []

    async def slow(x: int) -> int:
        await asyncio.sleep(0.02)
        finished.append("slow")
        return x

    async def halts() -> None:
        await asyncio.sleep(0.001)
        raise Halt("pause")

    wf = Workflow("grace")
    wf.step("slow", slow, x=1)
    wf.step("halts", halts)
    wf.step("after_slow", lambda s: s + 1, s=result("slow"))
    out = run(wf, halt_grace=5.0)
    assert out.status is RunStatus.HALTED
    assert finished == ["slow"]
    assert out.steps["slow"].status is StepStatus.SUCCEEDED
    assert out.steps["after_slow"].status is StepStatus.PENDING, "nothing new starts"


def test_steps_still_running_after_the_grace_are_cancelled_then_rerun() -> None:
    runs: list[str] = []

    async def stubborn() -> str:
        runs.append("start")
        await asyncio.sleep(0.5 if len(runs) == 1 else 0)
        return "done"

    gate = Gate()
    wf = Workflow("grace")
    wf.step("stubborn", stubborn)
    wf.step("approve", gate, x=1)
    wf.returns(["stubborn", "approve"])
    halted = run(wf, halt_grace=0.01)
    assert halted.status is RunStatus.HALTED
    rec = halted.steps["stubborn"]
    assert rec.status is StepStatus.CANCELLED
    assert "did not finish within 0.01s" in str(rec.error)
    gate.open = True
    done = resume(halted)
    assert done.value == ("done", "approved 1")
    assert runs == ["start", "start"]


def test_a_halt_inside_a_composed_workflow_resumes_inside_it() -> None:
    calls: Counter[str] = Counter()
    gate = Gate()
    inner = Workflow("inner", inputs=["x"])
    inner.step("first", lambda x: calls.update(["first"]) or x + 1, x=input("x"))
    inner.step("approve", gate, x=result("first"))
    inner.returns("approve")
    outer = Workflow("outer")
    outer.step("start", lambda: calls.update(["start"]) or 1)
    outer.compose("sub", inner, x=result("start"))
    outer.returns("sub")

    halted = run(outer)
    assert halted.status is RunStatus.HALTED
    assert halted.halt_reason == "waiting for approval"
    (child,) = halted.steps["sub"].children
    assert child is not None and child.status is RunStatus.HALTED
    gate.open = True
    done = resume(halted)
    assert done.value == "approved 2"
    assert calls == {"start": 1, "first": 1}


def test_a_halt_in_a_mapped_workflow_reruns_only_the_unfinished_elements() -> None:
    seen: Counter[int] = Counter()
    gate = {"open": False}

    def element(x: int) -> int:
        seen[x] += 1
        if x == 2 and not gate["open"]:
            raise Halt("element 2 needs a person")
        return x * 10

    inner = Workflow("inner", inputs=["x"])
    inner.step("work", element, x=input("x"))
    inner.returns("work")
    wf = Workflow("map")
    wf.map("each", inner, over=[0, 1, 2, 3], concurrency=1)
    wf.returns("each")

    halted = run(wf)
    assert halted.status is RunStatus.HALTED
    assert dict(seen) == {0: 1, 1: 1, 2: 1}, "no new element starts after the halt"
    gate["open"] = True
    done = resume(halted)
    assert done.value == [0, 10, 20, 30]
    assert dict(seen) == {0: 1, 1: 1, 2: 2, 3: 1}


def test_a_failed_run_resumes_from_what_is_still_in_effect() -> None:
    calls: Counter[str] = Counter()
    state = {"broken": True}

    def flaky() -> str:
        calls["flaky"] += 1
        if state["broken"]:
            raise OSError("down")
        return "up"

    wf = Workflow("again")
    wf.step("keep", lambda: calls.update(["keep"]) or "kept")
    wf.step("undoable", lambda: calls.update(["undoable"]) or "u", undo=lambda r: None)
    wf.step("flaky", flaky, wait_for=["keep", "undoable"])
    wf.returns(["keep", "undoable", "flaky"])
    failed = run(wf)
    assert failed.status is RunStatus.FAILED
    assert failed.steps["undoable"].status is StepStatus.UNDONE
    state["broken"] = False
    done = resume(failed)
    assert done.value == ("kept", "u", "up")
    assert calls == {"keep": 1, "undoable": 2, "flaky": 2}


def test_resume_checks_what_it_is_given() -> None:
    wf = Workflow("one", inputs=["n"])
    wf.step("a", lambda n: n, n=input("n"))
    other = Workflow("two", inputs=["n"])
    other.step("a", lambda n: n, n=input("n"))
    first = run(wf, {"n": 1})
    with pytest.raises(ValueError, match="cannot resume a run of workflow 'one'"):
        run(other, resume=first)
    with pytest.raises(TypeError, match="pass inputs or resume"):
        run(wf, {"n": 1}, resume=first)
    assert resume(first).steps["a"].result == 1, "resuming a finished run runs nothing"


def test_on_step_sees_halts_for_a_journal() -> None:
    heard: list[tuple[str, str]] = []

    def journal(context: ExecutionContext, record: StepRecord) -> None:
        heard.append((record.name, record.status.value))

    wf = Workflow("journal")
    wf.step("a", lambda: 1)
    wf.step("b", Gate(), x=result("a"))

    async def scenario() -> Any:
        return await arun(wf, on_step=journal)

    assert in_loop(scenario).status is RunStatus.HALTED
    assert heard == [("a", "succeeded"), ("b", "halted")]


def test_no_step_starts_after_a_halt_even_if_its_worker_was_scheduled() -> None:
    started: list[str] = []

    def halts() -> None:
        started.append("halts")
        raise Halt("stop here")

    async def other(name: str) -> None:
        started.append(name)

    wf = Workflow("scheduled")
    wf.step("halts", halts)
    for name in ("b", "c", "d"):
        wf.step(name, other, name=name)
    out = run(wf)
    assert out.status is RunStatus.HALTED
    assert started == ["halts"]
    assert [out.steps[n].status for n in "bcd"] == [StepStatus.PENDING] * 3


def test_a_system_run_takes_halt_grace_as_an_option_not_an_input() -> None:
    from hybrid_core import Hybrid

    async def stubborn() -> str:
        await asyncio.sleep(0.5)
        return "done"

    wf = Workflow("grace_option")
    wf.step("stubborn", stubborn)
    wf.step("approve", Gate(), x=1)
    with Hybrid(entry_points=False) as system:
        halted = system.run(wf, halt_grace=0.01)
    assert halted.status is RunStatus.HALTED
    assert "did not finish within 0.01s" in str(halted.steps["stubborn"].error)
