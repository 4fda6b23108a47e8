"""Building workflows: builder and decorator styles, references, and definition errors."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest
from workflow_helpers import (
    SKIPPED,
    CycleError,
    RetryPolicy,
    Scheduler,
    Step,
    Workflow,
    WorkflowDefinitionError,
    WorkflowInputError,
    input,
    result,
    run,
    value,
)


def twice(n: int) -> int:
    return n * 2


def add(a: int, b: int) -> int:
    return a + b


def test_builder_and_decorator_build_the_same_plan() -> None:
    built = Workflow("calc", inputs=["n"])
    built.step("double", twice, n=input("n"))
    built.step("add", add, a=result("double"), b=input("n"))
    built.returns("add")

    decorated = Workflow("calc", inputs=["n"])

    @decorated.step(n=input("n"))
    def double(n: int) -> int:
        return n * 2

    @decorated.step("add", a=result("double"), b=input("n"))
    def add_them(a: int, b: int) -> int:
        return a + b

    decorated.returns("add")
    assert built.plan().names == decorated.plan().names == ("double", "add")
    assert built.plan().deps == decorated.plan().deps == ((), (0,))
    assert run(built, {"n": 5}).value == run(decorated, {"n": 5}).value == 15
    assert add_them(1, 2) == 3, "the decorator returns the function unchanged"


def test_bare_decorator_registers_a_step_without_arguments() -> None:
    wf = Workflow("bare")

    @wf.step
    def hello() -> str:
        return "hi"

    wf.returns("hello")
    assert hello() == "hi"
    assert run(wf).value == "hi"


def test_workflow_exposes_name_inputs_capabilities_and_description() -> None:
    wf = Workflow(
        "review", ["path", "depth"], description="Review code", capabilities={"code.review": 5}
    )
    assert wf.name == "review"
    assert wf.inputs == ("path", "depth")
    assert dict(wf.capabilities) == {"code.review": 5}
    assert wf.description == "Review code"
    assert dict(Workflow("plain").capabilities) == {}


def test_workflow_rejects_bad_names_and_capabilities() -> None:
    with pytest.raises(ValueError, match="not valid"):
        Workflow("has space")
    with pytest.raises(TypeError, match="identifiers"):
        Workflow("ok", inputs=["not-an-identifier"])
    with pytest.raises(ValueError, match="dotted identifier"):
        Workflow("ok", capabilities={"bad name": 1})


def test_inputs_with_defaults_may_be_left_out_by_a_run_and_a_nested_step() -> None:
    inner = Workflow("inner", ["a", "b"], defaults={"b": 10})
    inner.step("sum", add, a=input("a"), b=input("b"))
    inner.returns("sum")
    assert dict(inner.defaults) == {"b": 10} and dict(Workflow("w").defaults) == {}
    outer = Workflow("outer", ["x", "xs"])
    outer.compose("nested", inner, a=input("x"))
    outer.map("each", inner, over=input("xs"))  # each element goes to "a", the open input
    outer.returns({"nested": "nested", "each": "each"})
    assert run(inner, {"a": 1}).unwrap() == 11
    assert run(inner, {"a": 1, "b": 2}).unwrap() == 3
    assert run(outer, {"x": 1, "xs": [2, 3]}).unwrap() == {"nested": 11, "each": [12, 13]}
    with pytest.raises(WorkflowInputError, match="'a'"):
        run(inner, {"b": 2})
    with pytest.raises(TypeError, match=r"defaults for \['c'\], which are not among its inputs"):
        Workflow("w", ["a"], defaults={"c": 1})
    with pytest.raises(TypeError, match="defaults must be a mapping"):
        Workflow("w", ["a"], defaults=[("a", 1)])  # type: ignore[arg-type]


def test_result_paths_follow_keys_indexes_and_attributes() -> None:
    class Found:
        def __init__(self) -> None:
            self.files = ["a.py", "b.py"]

    wf = Workflow("paths", inputs=["cfg"])
    wf.step("discover", lambda: {"files": ["x.py", "y.py"], "obj": Found()})
    wf.step("first", lambda f: f, f=result("discover", "files", 0))
    wf.step("attr", lambda f: f, f=result("discover", "obj", "files", 1))
    wf.step("deep", lambda d: d, d=input("cfg", "limits", "depth"))
    wf.returns({"first": "first", "attr": "attr", "deep": "deep"})
    out = run(wf, {"cfg": {"limits": {"depth": 3}}}).value
    assert out == {"first": "x.py", "attr": "b.py", "deep": 3}


def test_references_inside_containers_are_resolved() -> None:
    wf = Workflow("containers", inputs=["n"])
    wf.step("a", lambda: 1)
    wf.step("b", lambda: 2)
    wf.step(
        "gather",
        lambda items, table, pair: (items, table, pair),
        items=[result("a"), result("b"), 3],
        table={"n": input("n"), "nested": [result("a")]},
        pair=(result("b"), "lit"),
    )
    wf.returns("gather")
    items, table, pair = run(wf, {"n": 9}).value
    assert items == [1, 2, 3]
    assert table == {"n": 9, "nested": [1]}
    assert pair == (2, "lit")
    assert run(wf, {"n": 9}).plan.deps[2] == (0, 1)


def test_value_escapes_a_reference_taken_literally() -> None:
    wf = Workflow("escape")
    wf.step(
        "show",
        lambda ref, box: (ref, box),
        ref=value(result("nowhere")),
        box=value([input("x")]),
    )
    wf.returns("show")
    ref, box = run(wf).value
    assert ref == result("nowhere")
    assert box == [input("x")]


def test_returns_accepts_names_references_mappings_and_sequences() -> None:
    wf = Workflow("returns", inputs=["n"])
    wf.step("a", lambda n: n + 1, n=input("n"))
    wf.step("b", lambda: {"k": [10, 20]})
    assert run(wf.returns("a"), {"n": 1}).value == 2
    assert run(wf.returns(result("b", "k", 1)), {"n": 1}).value == 20
    assert run(wf.returns(["a", "b"]), {"n": 1}).value == (2, {"k": [10, 20]})
    assert run(wf.returns({"x": "a", "n": input("n")}), {"n": 1}).value == {"x": 2, "n": 1}
    assert run(Workflow("none"), {}).value is None
    with pytest.raises(TypeError, match="returns"):
        wf.returns(42)


def test_option_named_parameters_pass_through_arguments() -> None:
    def fetch(url: str, timeout: float) -> tuple[str, float]:
        return url, timeout

    wf = Workflow("fetch")
    wf.step("get", fetch, url="u", arguments={"timeout": 3.0}, timeout=1.0)
    wf.returns("get")
    assert wf["get"].timeout == 1.0
    assert run(wf).value == ("u", 3.0)


def test_every_problem_is_reported_at_once_with_suggestions() -> None:
    wf = Workflow("broken", inputs=["path"])
    wf.step("discover", lambda path: path, path=input("paht"))
    wf.step("parse", lambda files: files, files=result("discovr"))
    wf.step("parse", lambda: None)
    wf.step("report", lambda: None, wait_for="pars")
    wf.returns("reprot")
    with pytest.raises(WorkflowDefinitionError) as caught:
        wf.validate()
    kinds = [p.kind for p in caught.value.problems]
    assert sorted(kinds) == [
        "duplicate_step",
        "unknown_input",
        "unknown_return",
        "unknown_step",
        "unknown_step",
    ]
    text = str(caught.value)
    assert "workflow 'broken' has 5 problems" in text
    assert "unknown input 'paht' (did you mean 'path'?)" in text
    assert "unknown step 'discovr' (did you mean 'discover'?)" in text
    assert "wait_for names unknown step 'pars' (did you mean 'parse'?)" in text
    assert "the return names unknown step 'reprot' (did you mean 'report'?)" in text
    assert "step name 'parse' is used by 2 steps" in text
    by_kind = {p.kind: p for p in caught.value.problems}
    assert by_kind["unknown_input"].suggestions == ("path",)
    assert by_kind["unknown_input"].step == "discover"
    assert isinstance(caught.value, ValueError)


def test_a_cycle_is_shown_as_the_cycle() -> None:
    wf = Workflow("loop")
    wf.step("a", lambda x: x, x=result("c"))
    wf.step("b", lambda x: x, x=result("a"))
    wf.step("c", lambda x: x, x=result("b"))
    wf.step("d", lambda: None, wait_for="d")
    with pytest.raises(CycleError) as caught:
        wf.plan()
    assert caught.value.cycle == ("a", "b", "c", "a")
    assert caught.value.cycles == (("a", "b", "c", "a"), ("d", "d"))
    assert "dependency cycle: a -> b -> c -> a" in str(caught.value)
    assert isinstance(caught.value, WorkflowDefinitionError)


def test_a_cycle_is_listed_with_the_other_problems() -> None:
    wf = Workflow("both")
    wf.step("a", lambda x, y: x, x=result("b"), y=result("missing"))
    wf.step("b", lambda x: x, x=result("a"))
    with pytest.raises(CycleError) as caught:
        wf.plan()
    assert [p.kind for p in caught.value.problems] == ["unknown_step", "cycle"]


def test_arguments_are_checked_against_the_function_signature() -> None:
    wf = Workflow("sig", inputs=["n"])
    wf.step("add", add, a=input("n"), c=1)
    with pytest.raises(WorkflowDefinitionError) as caught:
        wf.validate()
    text = str(caught.value)
    assert "add() takes no argument 'c'" in text
    assert "add() needs argument 'b', which the step does not pass" in text


def test_kwargs_functions_take_any_argument() -> None:
    wf = Workflow("kw")
    wf.step("collect", lambda **kw: sorted(kw), x=1, y=2)
    wf.returns("collect")
    assert run(wf).value == ["x", "y"]


def test_misused_options_fail_when_the_step_is_built() -> None:
    wf = Workflow("misuse")
    with pytest.raises(TypeError, match="RetryPolicy"):
        wf.step("a", twice, n=1, retry=3)
    with pytest.raises(ValueError, match="timeout"):
        wf.step("a", twice, n=1, timeout=0)

    async def coro() -> None:
        await asyncio.sleep(0)

    with pytest.raises(TypeError, match="async function cannot be blocking"):
        wf.step("a", coro, blocking=True)
    with pytest.raises(ValueError, match="blocking"):
        wf.step("a", twice, n=1, blocking="gpu")
    with pytest.raises(TypeError, match="wait_for"):
        wf.step("a", twice, n=1, wait_for=[3])
    with pytest.raises(TypeError, match="callable"):
        wf.step("a", twice, n=1, undo="not callable")

    def with_context(context: Any) -> None:
        return None

    with pytest.raises(TypeError, match="another process"):
        wf.step("a", with_context, blocking="process")
    with pytest.raises(ValueError, match="supplied by the runner"):
        wf.step("a", with_context, context=1)
    assert len(wf) == 0


def test_retry_policy_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="factor"):
        RetryPolicy(factor=0.5)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2)
    with pytest.raises(TypeError, match="retry_on"):
        RetryPolicy(retry_on=(ValueError, "nope"))
    assert RetryPolicy(retry_on=KeyError).retry_on == (KeyError,)


def test_retry_policy_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, backoff=0.1, factor=2.0, max_backoff=0.5, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    jittery = RetryPolicy(backoff=1.0, jitter=0.5, max_backoff=10)
    assert all(0.5 <= jittery.delay(1) <= 1.5 for _ in range(200))
    assert policy.retries(ValueError(), 9) and not policy.retries(ValueError(), 10)
    assert not RetryPolicy(retry_on=KeyError).retries(ValueError(), 1)


def test_a_workflow_cannot_contain_itself() -> None:
    outer = Workflow("outer")
    inner = Workflow("inner")
    outer.compose("run_inner", inner)
    inner.compose("run_outer", outer)
    with pytest.raises(WorkflowDefinitionError) as caught:
        outer.validate()
    assert "contains itself (outer -> inner -> outer)" in str(caught.value)


def test_nested_problems_are_reported_with_the_step_that_nests_them() -> None:
    inner = Workflow("inner", inputs=["x"])
    inner.step("use", lambda x: x, x=result("missing"))
    outer = Workflow("outer")
    outer.compose("sub", inner, x=1, extra=2)
    with pytest.raises(WorkflowDefinitionError) as caught:
        outer.validate()
    text = str(caught.value)
    assert "step 'sub': in workflow 'inner': step 'use': argument 'x' refers to unknown" in text
    assert "passes 'extra', which workflow 'inner' does not take" in text


def test_plan_order_is_deterministic_and_topological() -> None:
    wf = Workflow("order")
    wf.step("late", lambda a, b: None, a=result("early"), b=result("mid"))
    wf.step("mid", lambda a: None, a=result("early"))
    wf.step("early", lambda: None)
    wf.step("free", lambda: None)
    plan = wf.plan()
    # Ready steps are taken in definition order, so "mid" (defined before "free") comes first.
    assert [plan.names[i] for i in plan.order] == ["early", "mid", "late", "free"]
    assert plan is wf.plan(), "the plan is cached"
    wf.step("more", lambda: None)
    assert plan is not wf.plan(), "adding a step invalidates the cached plan"


def test_scheduler_reports_ready_steps_as_dependencies_complete() -> None:
    wf = Workflow("sched")
    wf.step("a", lambda: None)
    wf.step("b", lambda: None)
    wf.step("c", lambda x, y: None, x=result("a"), y=result("b"))
    wf.step("d", lambda x: None, x=result("c"))
    sched: Scheduler = wf.plan().scheduler()
    assert sched.get_ready() == [0, 1]
    assert list(sched.done(0)) == []
    assert list(sched.done(1)) == [2]
    assert list(sched.done(2)) == [3]
    with pytest.raises(RuntimeError, match="already called"):
        sched.get_ready()
    resumed = wf.plan().scheduler(done=[0, 1])
    assert resumed.get_ready() == [2]


def test_inputs_are_checked_before_anything_runs() -> None:
    calls: list[str] = []
    wf = Workflow("inputs", inputs=["path", "depth"])
    wf.step("touch", lambda: calls.append("ran"))
    with pytest.raises(WorkflowInputError) as caught:
        run(wf, {"pth": "x"})
    text = str(caught.value)
    assert "input 'path' is missing" in text
    assert "input 'depth' is missing" in text
    assert "input 'pth' is unknown (did you mean 'path'" in text
    assert caught.value.missing == ("path", "depth")
    assert calls == []
    assert isinstance(caught.value, TypeError)


def test_custom_steps_are_added_with_add() -> None:
    async def invoke(call: Any) -> str:
        return f"{call.step.kind}:{call.arguments['x']}"

    wf = Workflow("custom", inputs=["x"])
    step = wf.add(Step("engine", invoke=invoke, kind="engine", arguments={"x": input("x")}))
    wf.returns("engine")
    assert step.kind == "engine"
    assert run(wf, {"x": 4}).value == "engine:4"
    with pytest.raises(TypeError, match="exactly one"):
        Step("bad")
    with pytest.raises(TypeError, match="takes a Step"):
        wf.add("nope")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="immutable"):
        step.name = "other"


def test_skipped_is_a_falsy_singleton_that_survives_pickling() -> None:
    import pickle

    assert not SKIPPED
    assert repr(SKIPPED) == "SKIPPED"
    assert pickle.loads(pickle.dumps(SKIPPED)) is SKIPPED


def _by_inspect(fn: Any) -> tuple[frozenset[str], frozenset[str], bool]:
    import inspect

    params = list(inspect.signature(fn).parameters.values())
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    declared = frozenset(p.name for p in params if p.kind in keyword)
    required = frozenset(p.name for p in params if p.kind in keyword and p.default is p.empty)
    return declared, required, any(p.kind is p.VAR_KEYWORD for p in params)


def _sig_a(x: int, y: int = 1, *args: int, z: int, w: int = 2, **kw: int) -> None: ...
def _sig_b(p: int, q: int = 3, /, r: int = 4, *, s: int) -> None: ...
def _sig_c(p: int, q: int, /, r: int, s: int = 1) -> None: ...
def _sig_d(p: int = 1, q: int = 2, /, r: int = 3) -> None: ...
def _sig_e(*args: int) -> None: ...
async def _sig_f(x: int, **k: int) -> None: ...


@functools.wraps(_sig_c)
def _sig_wrapped(*args: Any, **kwargs: Any) -> None: ...


@pytest.mark.parametrize(
    "fn",
    [_sig_a, _sig_b, _sig_c, _sig_d, _sig_e, _sig_f, _sig_wrapped, lambda x, y=2: x,
     functools.partial(_sig_a, 1), str.upper, dict, print],
)  # fmt: skip
def test_a_signature_reads_what_inspect_reads(fn: Any) -> None:
    from hybrid_core._workflow.signature import Signature

    sig = Signature(fn)
    try:
        declared, required, var_keyword = _by_inspect(fn)
    except (TypeError, ValueError):  # a builtin without a signature: it takes anything
        assert (sig.declared, sig.names, sig.required) == (frozenset(), None, frozenset())
        return
    assert (sig.declared, sig.required) == (declared, required)
    assert sig.names == (None if var_keyword else declared)
    assert sig.is_async == (fn is _sig_f)
