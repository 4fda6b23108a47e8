"""The OpenTelemetry sink: hybrid_core events in, OpenTelemetry spans and metrics out.

Events become spans through :class:`hybrid_core.SpanBuilder` (a span per run, step,
routing decision, engine call, resource wait and undo, nested as the work was), and each
span is started and ended with the times the events recorded. With the SDK's tracer the
exported spans carry the events' own W3C trace and span ids, so a trace id printed by
hybrid_core, recorded with ``--trace`` and shown by a tracing backend is one and the same.
Metrics: ``hybrid.step.duration`` and ``hybrid.engine.call.duration`` (histograms,
seconds) and ``hybrid.step.failures`` and ``hybrid.engine.call.failures`` (counters).
"""

from __future__ import annotations

import sys
from typing import Any

from hybrid_core import Event, Span, SpanBuilder
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from ._attributes import end_attributes, metric_attributes, plain, span_name, start_attributes
from ._ids import EventIds
from ._settings import OtelSettings
from ._version import __version__

__all__ = ["OtelSink"]

_SCOPE = "hybrid_core_otel"


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class _Instruments:
    """The histograms and counters, made once per sink."""

    def __init__(self, provider: otel_metrics.MeterProvider) -> None:
        meter = provider.get_meter(_SCOPE, __version__)
        self.step_duration = meter.create_histogram(
            "hybrid.step.duration", unit="s", description="How long workflow steps took"
        )
        self.call_duration = meter.create_histogram(
            "hybrid.engine.call.duration", unit="s", description="How long provider calls took"
        )
        self.step_failures = meter.create_counter(
            "hybrid.step.failures", unit="{step}", description="Steps that failed for good"
        )
        self.call_failures = meter.create_counter(
            "hybrid.engine.call.failures", unit="{call}", description="Provider calls that raised"
        )

    def record(self, span: Span, workflow: str | None) -> None:
        if span.kind not in ("step", "call") or span.duration is None:
            return
        attributes = metric_attributes(span, workflow)
        if span.kind == "step":
            self.step_duration.record(span.duration, attributes)
            if span.failed:
                self.step_failures.add(1, attributes)
        else:
            self.call_duration.record(span.duration, attributes)
            if span.failed:
                self.call_failures.add(1, attributes)


class OtelSink:
    """A hybrid_core sink that exports spans and metrics through OpenTelemetry.

    ``tracer_provider`` and ``meter_provider`` default to the globally set ones. The sink
    is queued (it runs in the telemetry thread, never on the run's path) and flushes the
    providers on :meth:`flush`; it shuts down only the providers it built itself
    (:meth:`from_settings` with ``exporter = "console"`` or ``"none"``).
    """

    inline = False

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: otel_metrics.MeterProvider | None = None,
        metrics: bool = True,
        name: str = "otel",
    ) -> None:
        self.name = name
        self._tracer_provider = tracer_provider or trace.get_tracer_provider()
        self._meter_provider = meter_provider or otel_metrics.get_meter_provider()
        self._tracer = self._tracer_provider.get_tracer(_SCOPE, __version__)
        self._ids = self._own_ids(self._tracer)
        self._instruments = _Instruments(self._meter_provider) if metrics else None
        self._owned: tuple[Any, ...] = ()
        self._open: dict[str, trace.Span] = {}
        self._workflows: dict[str, str] = {}
        self._builder = SpanBuilder(on_start=self._started, on_end=self._ended, keep=False)

    @classmethod
    def from_settings(cls, settings: OtelSettings) -> OtelSink:
        """A sink as ``[telemetry.otel]`` describes it."""
        if settings.exporter == "global":
            return cls(metrics=settings.metrics)
        tracer_provider, meter_provider = _build_providers(settings)
        sink = cls(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            metrics=settings.metrics,
        )
        sink._owned = (tracer_provider, meter_provider)
        return sink

    @staticmethod
    def _own_ids(tracer: trace.Tracer) -> EventIds | None:
        # The SDK's tracer asks this attribute for ids; our tracer object is ours alone, so
        # swapping it touches no other tracer of the same provider.
        current = getattr(tracer, "id_generator", None)
        if not isinstance(current, IdGenerator):
            return None
        ids = EventIds(current)
        tracer.id_generator = ids  # type: ignore[attr-defined]
        return ids

    # -- the sink protocol ----------------------------------------------------------------

    def handle(self, event: Event) -> None:
        self._builder.add(event)

    def flush(self) -> None:
        for provider in (self._tracer_provider, self._meter_provider):
            force_flush = getattr(provider, "force_flush", None)
            if callable(force_flush):
                force_flush()

    def close(self) -> None:
        """End spans the events left open (marked unfinished), flush, shut down what the
        sink built."""
        self._builder.finish()
        self.flush()
        for provider in self._owned:
            provider.shutdown()

    # -- spans ----------------------------------------------------------------------------

    def _parent(self, span: Span) -> Context:
        parent_id = span.parent_id or span.remote_parent_id
        if not parent_id or not span.trace_id:
            return Context()  # a root: never the ambient current span of this thread
        parent = SpanContext(
            trace_id=int(span.trace_id, 16),
            span_id=int(parent_id, 16),
            is_remote=span.parent_id is None,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        return trace.set_span_in_context(NonRecordingSpan(parent), Context())

    def _started(self, span: Span) -> None:
        if span.kind == "run":
            self._workflows[span.span_id] = span.name
        workflow = self._workflows.get(span.parent_id or "")
        if self._ids is not None:
            self._ids.use(span.trace_id, span.span_id)
        try:
            self._open[span.span_id] = self._tracer.start_span(
                span_name(span),
                context=self._parent(span),
                attributes=start_attributes(span, workflow),
                start_time=_ns(span.start),
            )
        finally:
            if self._ids is not None:
                self._ids.use(None, None)

    def _ended(self, span: Span) -> None:
        workflow = self._workflows.get(span.parent_id or "")
        if span.kind == "run":
            self._workflows.pop(span.span_id, None)
        if self._instruments is not None:
            self._instruments.record(span, workflow)
        otel_span = self._open.pop(span.span_id, None)
        if otel_span is None:
            return
        otel_span.set_attributes(end_attributes(span))
        for note in span.notes:
            attributes = {k: plain(v) for k, v in note.attributes.items() if v is not None}
            otel_span.add_event(note.name, attributes, timestamp=_ns(note.timestamp))
        if span.failed:
            reason = span.attributes.get("error") or span.status
            otel_span.set_status(Status(StatusCode.ERROR, str(reason)))
        otel_span.end(end_time=_ns(span.end if span.end is not None else span.start))

    def __repr__(self) -> str:
        return f"<OtelSink {self.name!r} open_spans={len(self._open)}>"


def _build_providers(settings: OtelSettings) -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    resource = Resource.create({"service.name": settings.service_name})
    tracer_provider = TracerProvider(resource=resource)
    readers = []
    if settings.exporter == "console":
        tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr)))
    return tracer_provider, MeterProvider(resource=resource, metric_readers=readers)
