"""The OpenTelemetry sink passes hybrid_core's sink contract, as a host builds it and as
``[telemetry.otel]`` does; with the host's providers, the contract's events become spans."""

from __future__ import annotations

import pytest
from hybrid_core.testing import SinkContract
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hybrid_core_otel import OtelSettings, OtelSink


class TestOtelSinkWithHostProviders(SinkContract):
    @pytest.fixture
    def exported(self) -> InMemorySpanExporter:
        return InMemorySpanExporter()

    @pytest.fixture
    def sink(self, exported: InMemorySpanExporter) -> OtelSink:
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        return OtelSink(tracer_provider=tracer_provider, meter_provider=meter_provider)

    def test_the_documented_events_become_spans(
        self, sink: OtelSink, exported: InMemorySpanExporter
    ) -> None:
        self.test_accepts_every_documented_event(sink)
        names = {span.name for span in exported.get_finished_spans()}
        assert any(name.startswith("run") for name in names), names
        assert len(names) >= 3, names


class TestOtelSinkFromSettings(SinkContract):
    @pytest.fixture
    def sink(self) -> OtelSink:
        return OtelSink.from_settings(OtelSettings(exporter="none", service_name="contract"))
