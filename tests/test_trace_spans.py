"""Spans rebuilt from the events of real runs: nesting, ids, statuses, streaming."""

from __future__ import annotations

import asyncio
from typing import Any

import hybrid_core as hc
from hybrid_core import Engine, Event, ExecutionContext, Hybrid, InMemorySink, RoutingPolicy
from hybrid_core._trace.spans import Span, SpanBuilder, derive_span_id
from hybrid_core.testing import make_plugin


def shape(span: Span) -> tuple[Any, ...]:
    """(kind, name, status, [children...]) with children in start order."""
    kids = sorted(span.children, key=lambda s: s.start)
    return (span.kind, span.name, span.status, [shape(c) for c in kids])


async def shout(payload: Any) -> str:
    await asyncio.sleep(0.001)
    return str(payload).upper()


def flaky_then_fine() -> Any:
    calls: list[int] = []

    def handler(payload: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first call fails")
        return payload

    return handler


def system_with(sink: InMemorySink, *workflows: Any) -> Hybrid:
    engines = [
        Engine(name="loud", capabilities={"text.upper": 5}, handler=shout),
        Engine(name="flaky", capabilities={"text.flaky": 5}, handler=flaky_then_fine()),
        Engine(name="steady", capabilities={"text.flaky": 1}, handler=lambda p: p),
    ]
    plugin = make_plugin("p", engines=engines, workflows=list(workflows))
    policy = RoutingPolicy(backoff=0.0)
    return Hybrid(plugins=[plugin], entry_points=False, sinks=[sink], routing=policy)


def hybrid_workflow() -> tuple[hc.Workflow, hc.WorkflowProvider]:
    """A routed step, a composed workflow, a workflow serving a capability, a retry."""
    inner = hc.Workflow("inner", inputs=["text"])
    inner.add(hc.capability_step("shout", "text.upper", payload=hc.input("text")))
    inner.returns("shout")
    sub = hc.Workflow("sub", inputs=["x"])
    sub.step("twice", lambda x: x * 2, x=hc.input("x"))
    sub.returns("twice")
    outer = hc.Workflow("outer", inputs=["text"])
    outer.add(hc.capability_step("upper", "text.upper", payload=hc.input("text")))
    outer.compose("nested", sub, x=hc.result("upper"))
    outer.add(hc.capability_step("via_flow", "text.flow", payload=hc.result("nested")))
    outer.add(hc.capability_step("retried", "text.flaky", payload=hc.result("via_flow")))
    outer.returns("retried")
    return outer, hc.workflow_provider(inner, capability="text.flow")


async def test_a_hybrid_workflow_nests_every_span_under_what_caused_it() -> None:
    sink = InMemorySink()
    outer, provider = hybrid_workflow()
    async with system_with(sink, provider) as system:
        result = await system.arun(outer, text="hi")
    assert result.unwrap() == "HIHI"
    builder = SpanBuilder().add_all(sink.events)
    assert builder.finish() == []
    (root,) = builder.roots
    ok = "succeeded"

    def call(name: str, status: str = "ok", kids: Any = ()) -> tuple[Any, ...]:
        return ("call", name, status, list(kids))

    def route(capability: str, status: str, kids: Any) -> tuple[Any, ...]:
        return ("route", capability, status, kids)

    assert shape(root) == (
        "run", "outer", ok, [
            ("step", "upper", ok, [route("text.upper", "ok", [call("loud")])]),
            ("step", "nested", ok, [("run", "sub", ok, [("step", "twice", ok, [])])]),
            ("step", "via_flow", ok, [route("text.flow", "ok", [call("inner", kids=[
                ("run", "inner", ok, [
                    ("step", "shout", ok, [route("text.upper", "ok", [call("loud")])]),
                ]),
            ])])]),
            ("step", "retried", ok, [
                route("text.flaky", "error", [call("flaky", "error")]),
                route("text.flaky", "ok", [call("steady")]),
            ]),
        ],
    )  # fmt: skip
    assert root.span_id == sink.events[0].span_id and root.trace_id == result.trace_id
    assert {s.trace_id for s in root.walk()} == {result.trace_id}
    calls = {e.span_id for e in sink.named("engine.call.start")}
    assert calls == {s.span_id for s in root.walk() if s.kind == "call"}
    retried = next(s for s in root.walk() if s.name == "retried")
    assert retried.attributes["provider"] == "steady"
    first = retried.children[0]
    assert first.attributes["reason"].startswith("priority chose 'flaky'")
    assert first.attributes["error"] == "RuntimeError: first call fails"


async def test_mapped_workflows_and_parallel_calls_land_under_their_step() -> None:
    each = hc.Workflow("each", inputs=["item"])
    each.step("inc", lambda item: item + 1, item=hc.input("item"))
    each.returns("inc")
    wf = hc.Workflow("fan", inputs=["items"])
    wf.map("per_item", each, over=hc.input("items"))
    wf.add(
        hc.parallel_step(
            "both",
            "text.flaky",
            providers=["steady", "flaky"],
            aggregate="first",
            payload=hc.result("per_item"),
        )
    )
    sink = InMemorySink()
    async with system_with(sink) as system:
        await system.arun(wf, items=[1, 2, 3])
    (root,) = SpanBuilder().add_all(sink.events).roots
    per_item, both = sorted(root.children, key=lambda s: s.start)
    assert [(c.kind, c.name) for c in per_item.children] == [("run", "each")] * 3
    assert {c.name for c in both.children} == {"steady", "flaky"}
    assert all(c.kind == "call" for c in both.children)


async def test_requests_outside_workflows_are_roots_with_the_call_under_the_decision() -> None:
    sink = InMemorySink()
    async with system_with(sink) as system:
        await system.aexecute("text.upper", "a")
        await system.aexecute("text.upper", "b")
    roots = SpanBuilder().add_all(sink.events).roots
    assert [shape(r) for r in roots] == [
        ("route", "text.upper", "ok", [("call", "loud", "ok", [])])
    ] * 2
    assert roots[0].trace_id != roots[1].trace_id


def test_ids_are_derived_the_same_way_by_every_reader() -> None:
    events = recorded_workflow_events()
    first = {s.span_id for r in SpanBuilder().add_all(events).roots for s in r.walk()}
    second = {s.span_id for r in SpanBuilder().add_all(events).roots for s in r.walk()}
    assert first == second and len(first) == sum(
        1 for r in SpanBuilder().add_all(events).roots for _ in r.walk()
    )
    assert all(len(i) == 16 and int(i, 16) for i in first)
    assert derive_span_id("a", 1) == derive_span_id("a", 1) != derive_span_id("a", 2)


def recorded_workflow_events() -> list[Event]:
    sink = InMemorySink()
    outer, provider = hybrid_workflow()

    async def go() -> None:
        async with system_with(sink, provider) as system:
            await system.arun(outer, text="x")

    asyncio.run(go())
    return sink.events


def test_streaming_builder_reports_every_span_once_and_forgets_finished_work() -> None:
    events = recorded_workflow_events()
    started: list[str] = []
    ended: list[str] = []
    builder = SpanBuilder(
        on_start=lambda s: started.append(s.span_id),
        on_end=lambda s: ended.append(s.span_id),
        keep=False,
    )
    builder.add_all(events)
    assert sorted(started) == sorted(ended) and len(set(started)) == len(started)
    assert builder.roots == [] and builder.spans == {}
    assert not (
        builder._runs or builder._steps or builder._calls or builder._routes or builder._open
    )


def test_spans_left_open_are_finished_as_unfinished() -> None:
    ctx = ExecutionContext.root(name="wf")
    events = [
        Event(
            "run.start",
            10.0,
            ctx.run_id,
            ctx.trace_id,
            ctx.span_id,
            attributes={"workflow": "wf"},
            lineage=((ctx.span_id, "wf"),),
        ),
        Event(
            "step.start",
            10.5,
            ctx.run_id,
            ctx.trace_id,
            ctx.span_id,
            step="slow",
            lineage=((ctx.span_id, "wf"),),
        ),
    ]
    builder = SpanBuilder().add_all(events)
    left = builder.finish()
    assert [(s.kind, s.status, s.end) for s in left] == [
        ("run", "unfinished", 10.5),
        ("step", "unfinished", 10.5),
    ]


def test_a_step_emitting_with_its_own_context_keeps_its_own_span_id() -> None:
    run = ExecutionContext.root(name="wf")
    step = run.child(name="parse")
    call = step.child(name="engine")
    lineage = ((step.span_id, "parse"), (run.span_id, "wf"))
    events = [
        Event(
            "run.start",
            1.0,
            span_id=run.span_id,
            trace_id=run.trace_id,
            lineage=((run.span_id, "wf"),),
            attributes={"workflow": "wf"},
        ),
        Event(
            "step.start",
            1.1,
            span_id=step.span_id,
            trace_id=run.trace_id,
            step="parse",
            parent_span_id=run.span_id,
            lineage=lineage,
        ),
        Event(
            "engine.call.start",
            1.2,
            span_id=call.span_id,
            trace_id=run.trace_id,
            provider="engine",
            lineage=((call.span_id, "engine"), *lineage),
        ),
        Event(
            "engine.call.stop",
            1.3,
            span_id=call.span_id,
            trace_id=run.trace_id,
            provider="engine",
            duration=0.1,
            lineage=((call.span_id, "engine"), *lineage),
        ),
        Event(
            "step.stop",
            1.4,
            span_id=step.span_id,
            trace_id=run.trace_id,
            step="parse",
            duration=0.3,
            lineage=lineage,
            attributes={"status": "succeeded"},
        ),
    ]
    (root,) = SpanBuilder().add_all(events).roots
    (parse,) = root.children
    assert parse.span_id == step.span_id and parse.end == 1.4
    assert [c.span_id for c in parse.children] == [call.span_id]


def test_a_run_continuing_a_callers_trace_records_the_remote_parent() -> None:
    ctx = ExecutionContext.root(
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    )
    bus = hc.TelemetryBus()
    sink = InMemorySink()
    bus.attach(sink)
    bus.emit("run.start", ctx, workflow="wf")
    (root,) = SpanBuilder().add_all(sink.events).roots
    assert root.parent_id is None and root.remote_parent_id == "00f067aa0ba902b7"
    assert root.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_decision_whose_call_never_started_ends_with_its_step() -> None:
    run = ExecutionContext.root(name="w")
    lineage = ((run.span_id, "w"),)
    step_ctx = run.child(name="s")
    events = [
        Event("run.start", 1.0, span_id=run.span_id, lineage=lineage),
        Event("step.start", 1.1, span_id=run.span_id, step="s", lineage=lineage),
        Event("route.decision", 1.2, span_id=step_ctx.span_id, provider="p",
              attributes={"capability": "c.x", "attempt": 1, "choice": "p"},
              lineage=((step_ctx.span_id, "s"), *lineage)),
        Event("step.stop", 1.5, span_id=run.span_id, step="s", duration=0.4, lineage=lineage,
              attributes={"status": "failed", "error": "ResourceError: cpu"}),
    ]  # fmt: skip
    ended: list[Span] = []
    builder = SpanBuilder(on_end=ended.append).add_all(events)
    assert [(s.kind, s.status, s.end) for s in ended] == [
        ("route", "unfinished", 1.5),
        ("step", "failed", 1.5),
    ]
    assert builder.finish()[0].kind == "run"


def test_unknown_events_are_counted_not_fatal() -> None:
    builder = SpanBuilder().add_all([Event("cache.hit", 1.0), Event("cache.hit", 2.0)])
    assert builder.unknown == {"cache.hit": 2} and builder.roots == []
