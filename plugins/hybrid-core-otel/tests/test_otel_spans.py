"""Spans and metrics exported for real router requests and real hybrid workflow runs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import hybrid_core as hc
import pytest
from hybrid_core import Engine, ExecutionContext, Hybrid, InMemorySink, RoutingPolicy
from hybrid_core.testing import make_plugin
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from hybrid_core_otel import OtelSink


class Exported:
    """What an OtelSink exported: finished spans and collected metrics."""

    def __init__(self) -> None:
        self.spans_out = InMemorySpanExporter()
        self.metrics_in = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_out))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics_in])

    def sink(self) -> OtelSink:
        return OtelSink(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.spans_out.get_finished_spans()

    def points(self, metric: str) -> list[tuple[dict[str, object], float]]:
        """(attributes, count or value) of each data point of ``metric``."""
        data = self.metrics_in.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        for p in m.data.data_points:
                            value = getattr(p, "count", None)
                            found.append(
                                (dict(p.attributes), value if value is not None else p.value)
                            )
        return found

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def exported() -> Iterator[Exported]:
    out = Exported()
    yield out
    out.close()


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


def system(*sinks: Any, workflows: tuple[Any, ...] = ()) -> Hybrid:
    engines = [
        Engine(name="loud", capabilities={"text.upper": 5}, handler=shout),
        Engine(name="flaky", capabilities={"text.flaky": 5}, handler=flaky_then_fine()),
        Engine(name="steady", capabilities={"text.flaky": 1}, handler=lambda p: p),
    ]
    plugin = make_plugin("p", engines=engines, workflows=list(workflows))
    return Hybrid(plugins=[plugin], entry_points=False, sinks=list(sinks),
                  routing=RoutingPolicy(backoff=0.0))  # fmt: skip


def hex_id(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


def tree(spans: tuple[ReadableSpan, ...]) -> list[tuple[Any, ...]]:
    """The exported spans as nested (name, [children]) tuples, children in start order."""
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for s in spans:
        parent = s.parent.span_id if s.parent is not None and s.parent.span_id in ids else None
        children.setdefault(parent, []).append(s)

    def build(parent: int | None) -> list[tuple[Any, ...]]:
        kids = sorted(children.get(parent, []), key=lambda s: s.start_time or 0)
        return [(s.name, build(s.context.span_id)) for s in kids]

    return build(None)


async def test_a_routed_request_is_a_decision_span_around_its_call(exported: Exported) -> None:
    memory = InMemorySink()
    async with system(exported.sink(), memory) as s:
        assert await s.aexecute("text.upper", "hi") == "HI"
    assert tree(exported.spans) == [("route text.upper", [("call loud", [])])]
    route, call = sorted(exported.spans, key=lambda s: s.name, reverse=True)
    decision, start = memory.named("route.decision")[0], memory.named("engine.call.start")[0]
    assert hex_id(route.context.trace_id, 32) == decision.trace_id
    assert hex_id(call.context.span_id, 16) == start.span_id
    assert hex_id(call.context.trace_id, 32) == start.trace_id
    assert route.attributes["hybrid.capability"] == "text.upper"
    assert route.attributes["hybrid.strategy"] == "priority"
    assert route.attributes["hybrid.provider"] == "loud"
    assert route.attributes["hybrid.attempt"] == 1
    assert route.attributes["hybrid.route.reason"] == "priority chose 'loud' (score 5)"
    assert route.attributes["hybrid.route.scores"] == ("loud=5.0",)
    assert call.attributes["hybrid.outcome"] == "ok" and call.status.status_code is StatusCode.UNSET
    stop = memory.named("engine.call.stop")[0]
    assert call.end_time == int(stop.timestamp * 1e9)
    assert call.start_time == int(start.timestamp * 1e9)


async def test_a_retried_request_shows_the_failed_attempt_as_an_error(exported: Exported) -> None:
    async with system(exported.sink()) as s:
        await s.aexecute("text.flaky", "x")
    assert tree(exported.spans) == [
        ("route text.flaky", [("call flaky", [])]),
        ("route text.flaky", [("call steady", [])]),
    ]
    failed = next(sp for sp in exported.spans if sp.name == "call flaky")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "RuntimeError: first call fails"
    assert failed.attributes["hybrid.error"] == "RuntimeError: first call fails"
    second = [sp for sp in exported.spans if sp.name == "route text.flaky"][1]
    assert second.attributes["hybrid.attempt"] == 2
    assert "avoiding after failure: flaky" in str(second.attributes["hybrid.route.reason"])
    points = dict(
        (a["hybrid.provider"], n) for a, n in exported.points("hybrid.engine.call.failures")
    )
    assert points == {"flaky": 1}


def hybrid_workflow() -> tuple[hc.Workflow, hc.WorkflowProvider]:
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
    outer.step("boom", _boom, value=hc.result("via_flow"),
               compensate=lambda error: hc.ContinueWith("recovered"))  # fmt: skip
    outer.returns("boom")
    return outer, hc.workflow_provider(inner, capability="text.flow")


def _boom(value: Any) -> Any:
    raise ValueError("no good")


async def test_a_hybrid_workflow_exports_the_real_tree(exported: Exported) -> None:
    outer, provider = hybrid_workflow()
    memory = InMemorySink()
    async with system(exported.sink(), memory, workflows=(provider,)) as s:
        result = await s.arun(outer, text="hi")
    assert result.unwrap() == "recovered"
    assert tree(exported.spans) == [
        ("run outer", [
            ("step upper", [("route text.upper", [("call loud", [])])]),
            ("step nested", [("run sub", [("step twice", [])])]),
            ("step via_flow", [("route text.flow", [("call inner", [
                ("run inner", [("step shout", [("route text.upper", [("call loud", [])])])]),
            ])])]),
            ("step boom", []),
        ]),
    ]  # fmt: skip
    assert {hex_id(sp.context.trace_id, 32) for sp in exported.spans} == {result.trace_id}
    root = next(sp for sp in exported.spans if sp.name == "run outer")
    assert hex_id(root.context.span_id, 16) == memory.named("run.start")[0].span_id
    assert root.parent is None and root.attributes["hybrid.outcome"] == "succeeded"
    step = next(sp for sp in exported.spans if sp.name == "step upper")
    assert step.attributes["hybrid.workflow"] == "outer"
    assert step.attributes["hybrid.step.kind"] == "capability"
    assert step.attributes["hybrid.provider"] == "loud"
    assert step.attributes["hybrid.attempts"] == 1
    boom = next(sp for sp in exported.spans if sp.name == "step boom")
    assert boom.attributes["hybrid.outcome"] == "compensated"
    assert [e.name for e in boom.events] == ["step.compensate"]
    assert boom.events[0].attributes["decision"] == "continue"


async def test_step_and_call_durations_are_histograms(exported: Exported) -> None:
    outer, provider = hybrid_workflow()
    async with system(exported.sink(), workflows=(provider,)) as s:
        await s.arun(outer, text="hi")
    steps = {
        (a["hybrid.workflow"], a["hybrid.step"]): n
        for a, n in exported.points("hybrid.step.duration")
    }
    assert steps == {
        ("outer", "upper"): 1, ("outer", "nested"): 1, ("outer", "via_flow"): 1,
        ("outer", "boom"): 1, ("sub", "twice"): 1, ("inner", "shout"): 1,
    }  # fmt: skip
    calls = {(a["hybrid.provider"], a["hybrid.outcome"]): n
             for a, n in exported.points("hybrid.engine.call.duration")}  # fmt: skip
    assert calls == {("loud", "ok"): 2, ("inner", "ok"): 1}
    assert exported.points("hybrid.step.failures") == []


async def test_a_failed_step_counts_as_a_failure_and_fails_its_run(exported: Exported) -> None:
    wf = hc.Workflow("fails")
    wf.step("boom", lambda: _boom(None))
    async with system(exported.sink()) as s:
        result = await s.arun(wf)
    assert result.status.value == "failed"
    (step,) = [sp for sp in exported.spans if sp.name == "step boom"]
    (run,) = [sp for sp in exported.spans if sp.name == "run fails"]
    assert (
        step.status.status_code is StatusCode.ERROR and run.status.status_code is StatusCode.ERROR
    )
    assert run.attributes["hybrid.run.failed_step"] == "boom"
    ((attributes, count),) = exported.points("hybrid.step.failures")
    assert count == 1 and attributes["hybrid.step"] == "boom"


async def test_a_run_continuing_a_callers_trace_hangs_under_the_remote_span(
    exported: Exported,
) -> None:
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    wf = hc.Workflow("w")
    wf.step("one", lambda: 1)
    async with system(exported.sink()) as s:
        await s.arun(wf, context=ExecutionContext.root(traceparent=caller))
    run = next(sp for sp in exported.spans if sp.name == "run w")
    assert run.parent is not None and run.parent.is_remote
    assert hex_id(run.parent.span_id, 16) == "00f067aa0ba902b7"
    assert {hex_id(sp.context.trace_id, 32) for sp in exported.spans} == {
        "4bf92f3577b34da6a3ce929d0e0e4736"
    }


def test_spans_the_events_leave_open_are_ended_as_unfinished(exported: Exported) -> None:
    sink = exported.sink()
    bus = hc.TelemetryBus()
    bus.attach(sink)
    ctx = ExecutionContext.root(name="w")
    bus.emit("run.start", ctx, workflow="w")
    bus.emit("step.start", ctx, step="stuck", kind="function")
    bus.close()
    assert sorted((sp.name, sp.attributes["hybrid.outcome"]) for sp in exported.spans) == [
        ("run w", "unfinished"),
        ("step stuck", "unfinished"),
    ]
