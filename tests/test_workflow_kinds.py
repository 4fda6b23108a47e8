"""Step kinds: compose, map, switch, and a custom kind built on Step(invoke=...)."""

from __future__ import annotations

import asyncio
import gc
import random
from typing import Any

import pytest
from workflow_helpers import (
    SKIPPED,
    ExecutionContext,
    RunStatus,
    Step,
    StepCall,
    StepFailed,
    StepStatus,
    Workflow,
    WorkflowDefinitionError,
    arun,
    bus,
    input,
    result,
    run,
)


def make_inner(log: list[str] | None = None) -> Workflow:
    inner = Workflow("inner", inputs=["x"])

    def square(x: int) -> int:
        if log is not None:
            log.append(f"square {x}")
        return x * x

    inner.step("square", square, x=input("x"))
    inner.step("plus", lambda s, x: s + x, s=result("square"), x=input("x"))
    inner.returns("plus")
    return inner


def test_compose_runs_a_workflow_as_one_step() -> None:
    outer = Workflow("outer", inputs=["n"])
    outer.step("base", lambda n: n + 1, n=input("n"))
    outer.compose("sub", make_inner(), x=result("base"))
    outer.step("after", lambda v: v * 10, v=result("sub"))
    outer.returns("after")
    out = run(outer, {"n": 2})
    assert out.value == 120
    rec = out.steps["sub"]
    assert rec.kind == "compose"
    (child,) = rec.children
    assert child is not None and child.status is RunStatus.SUCCEEDED
    assert child.results == {"square": 9, "plus": 12}
    assert child.run_id == out.run_id, "nested steps belong to the same run"


def test_a_composed_run_gets_a_child_context() -> None:
    seen: list[ExecutionContext] = []

    def probe(context: ExecutionContext) -> int:
        seen.append(context)
        return context.depth

    inner = Workflow("inner")
    inner.step("probe", probe)
    inner.returns("probe")
    outer = Workflow("outer")
    outer.compose("sub", inner)
    outer.returns("sub")
    root = ExecutionContext.root(name="host")
    out = run(outer, context=root)
    names = [c.name for c in seen[0].lineage()]
    assert names == ["probe", "inner", "sub", "outer", "host"]
    assert out.value == 4
    assert seen[0].state is root.state


def test_a_failure_inside_a_composed_workflow_names_the_nested_step() -> None:
    inner = Workflow("inner")
    inner.step("leaf", lambda: 1 / 0)
    outer = Workflow("outer")
    outer.compose("sub", inner)
    out = run(outer)
    error = out.error
    assert isinstance(error, StepFailed)
    assert error.path == ("sub", "leaf")
    assert isinstance(error.root_cause, ZeroDivisionError)
    assert str(error) == (
        "step 'sub' of workflow 'outer' failed after 1 attempt: step 'leaf' of workflow "
        "'inner' failed after 1 attempt: ZeroDivisionError: division by zero"
    )
    (child,) = out.steps["sub"].children
    assert child is not None and child.steps["leaf"].status is StepStatus.FAILED


def test_rolling_back_a_composed_step_undoes_its_inner_steps() -> None:
    undone: list[str] = []
    inner = Workflow("inner")
    inner.step("i1", lambda: "i1", undo=undone.append)
    inner.step("i2", lambda a: "i2", a=result("i1"), undo=undone.append)
    outer = Workflow("outer")
    outer.step("o1", lambda: "o1", undo=undone.append)
    outer.compose("sub", inner, wait_for="o1")
    outer.step("boom", lambda: 1 / 0, wait_for="sub")
    out = run(outer)
    assert out.status is RunStatus.FAILED
    assert undone == ["i2", "i1", "o1"]
    (child,) = out.steps["sub"].children
    assert child is not None
    assert {r.status for r in child.steps.values()} == {StepStatus.UNDONE}
    assert out.steps["sub"].status is StepStatus.UNDONE


def test_a_failed_composed_run_rolls_itself_back() -> None:
    undone: list[str] = []
    inner = Workflow("inner")
    inner.step("i1", lambda: "i1", undo=undone.append)
    inner.step("i2", lambda: 1 / 0, wait_for="i1")
    outer = Workflow("outer")
    outer.compose("sub", inner)
    run(outer)
    assert undone == ["i1"]


def test_map_runs_a_function_per_element_in_order() -> None:
    running = 0
    peak = 0

    async def analyse(path: str, suffix: str) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(random.uniform(0, 0.003))
        running -= 1
        return path + suffix

    wf = Workflow("map", inputs=["paths"])
    wf.map("each", analyse, over=input("paths"), concurrency=3, suffix="!")
    wf.returns("each")
    paths = [f"f{k}" for k in range(15)]
    out = run(wf, {"paths": paths})
    assert out.value == [p + "!" for p in paths]
    assert peak == 3


def test_map_with_the_decorator_and_a_keyword_item() -> None:
    wf = Workflow("map")
    wf.step("discover", lambda: {"files": ["a", "b"]})

    @wf.map(over=result("discover", "files"), item="name", blocking=True)
    def upper(name: str) -> str:
        return name.upper()

    wf.returns("upper")
    assert run(wf).value == ["A", "B"]


def test_map_over_a_workflow_collects_each_run() -> None:
    log: list[str] = []
    wf = Workflow("map", inputs=["xs"])
    wf.map("each", make_inner(log), over=input("xs"))
    wf.returns("each")
    out = run(wf, {"xs": [1, 2, 3]})
    assert out.value == [2, 6, 12]
    children = out.steps["each"].children
    assert [c.inputs for c in children if c is not None] == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert sorted(log) == ["square 1", "square 2", "square 3"]


def test_a_failing_element_cancels_the_others_and_is_named() -> None:
    cancelled: list[int] = []

    async def work(k: int) -> int:
        if k == 2:
            raise ValueError("bad element")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(k)
            raise
        return k

    wf = Workflow("map")
    wf.map("each", work, over=[0, 1, 2, 3])
    out = run(wf)
    error = out.error
    assert isinstance(error, StepFailed)
    assert error.path == ("each", "each[2]")
    assert "ValueError: bad element" in str(error)
    # Every element had started before element 2 failed (no concurrency bound).
    assert sorted(cancelled) == [0, 1, 3]


def test_elements_failing_together_leave_no_unretrieved_task_exception() -> None:
    async def bad(k: int) -> int:
        await asyncio.sleep(0.001)  # every element fails in the same turn of the loop
        raise ValueError(f"bad {k}")

    wf = Workflow("map")
    wf.map("each", bad, over=list(range(8)), concurrency=4)

    async def scenario() -> list[str]:
        logged: list[str] = []
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, ctx: logged.append(ctx["message"])
        )
        out = await arun(wf)
        assert out.status is RunStatus.FAILED
        del out  # the failure's traceback keeps the element tasks alive until now
        gc.collect()
        await asyncio.sleep(0)
        return logged

    assert asyncio.run(scenario()) == []


def test_map_over_nothing_or_over_skipped() -> None:
    wf = Workflow("map", inputs=["xs"])
    wf.step("maybe", lambda xs: xs, xs=input("xs"), where=lambda xs: xs is not None)
    wf.map("each", lambda x: x, over=result("maybe"))
    wf.returns("each")
    assert run(wf, {"xs": []}).value == []
    assert run(wf, {"xs": None}).value is SKIPPED


def test_map_needs_to_know_which_input_takes_the_element() -> None:
    inner = Workflow("pair", inputs=["a", "b"])
    wf = Workflow("map")
    wf.map("each", inner, over=[1])
    with pytest.raises(WorkflowDefinitionError, match="give item='name'"):
        wf.validate()
    with pytest.raises(TypeError, match="over="):
        wf.map("again", inner)


def test_switch_runs_only_the_chosen_branch() -> None:
    ran: list[str] = []

    def fast(text: str) -> str:
        ran.append("fast")
        return text.upper()

    def reverse(text: str) -> str:
        ran.append("careful")
        return text[::-1]

    careful = Workflow("careful", inputs=["text"])
    careful.step("check", reverse, text=input("text"))
    careful.returns("check")

    def classify(text: str) -> str:
        ran.append("classify")
        return "short" if len(text) < 5 else "long"

    wf = Workflow("route", inputs=["text"])
    wf.step("classify", classify, text=input("text"))
    wf.switch(
        "handle",
        on=result("classify"),
        branches={"short": fast, "long": careful},
        text=input("text"),
    )
    wf.returns("handle")
    assert run(wf, {"text": "abc"}).value == "ABC"
    assert ran == ["classify", "fast"], "steps before the switch run once"
    ran.clear()
    out = run(wf, {"text": "abcdefg"})
    assert out.value == "gfedcba"
    assert ran == ["classify", "careful"]
    assert out.steps["handle"].children[0] is not None


def test_switch_by_predicate_with_a_default() -> None:
    wf = Workflow("route", inputs=["n"])
    wf.switch(
        "sign",
        on=lambda n: "neg" if n < 0 else "zero" if n == 0 else "pos",
        branches={"neg": lambda n: -n, "zero": lambda: 0},
        default=lambda n: n * 100,
        n=input("n"),
    )
    wf.returns("sign")
    assert [run(wf, {"n": n}).value for n in (-3, 0, 2)] == [3, 0, 200]


def test_switch_without_a_matching_branch_fails_clearly() -> None:
    wf = Workflow("route", inputs=["kind"])
    wf.switch("pick", on=input("kind"), branches={"a": lambda: 1, "b": lambda: 2})
    out = run(wf, {"kind": "c"})
    assert out.status is RunStatus.FAILED
    assert "switch 'pick': no branch for 'c' and no default (branches: 'a', 'b')" in str(out.error)


def test_switch_branches_are_checked_at_build_time() -> None:
    needs_y = Workflow("needs_y", inputs=["y"])
    wf = Workflow("route", inputs=["k"])
    wf.switch("pick", on=input("k"), branches={1: needs_y, 2: lambda z: z})
    with pytest.raises(WorkflowDefinitionError) as caught:
        wf.validate()
    text = str(caught.value)
    assert "branch 1 workflow 'needs_y' needs input 'y'" in text
    assert "branch 2 function needs 'z'" in text


def test_a_custom_kind_reports_its_provider_and_gets_a_context() -> None:
    telemetry, sink = bus()

    async def invoke(call: StepCall) -> Any:
        call.provider = "engine-a"
        assert call.context.name == "ask"
        return {"answer": call.arguments["question"] * 2, "attempt": call.attempt}

    wf = Workflow("custom", inputs=["q"])
    wf.add(Step("ask", invoke=invoke, kind="capability", arguments={"question": input("q")}))
    wf.returns("ask")
    out = run(wf, {"q": 21}, telemetry=telemetry)
    assert out.value == {"answer": 42, "attempt": 1}
    assert out.steps["ask"].provider == "engine-a"
    (stop,) = sink.named("step.stop")
    assert (stop.provider, stop.attributes["kind"]) == ("engine-a", "capability")


def test_dependencies_hold_across_nesting() -> None:
    log: list[str] = []

    async def side() -> None:
        await asyncio.sleep(0.005)
        log.append("inner side effect")

    inner = Workflow("inner", inputs=["x", "offset"])
    inner.step("side", side)
    inner.step("main", lambda x, offset: x + offset, x=input("x"), offset=input("offset"))
    inner.returns("main")  # "side" feeds nothing, yet the composed step waits for it

    outer = Workflow("outer")
    outer.step("offset", lambda: 100)
    outer.compose("sub", inner, x=1, offset=result("offset"))

    def after(v: int) -> int:
        log.append(f"after saw {v}")
        return v

    outer.step("after", after, v=result("sub"))
    outer.map("each", inner, over=[1, 2], item="x", offset=result("offset"))
    outer.returns(["after", "each"])
    out = run(outer)
    assert out.value == (101, [101, 102])
    assert log.index("inner side effect") < log.index("after saw 101")
