"""The distribution as users get it: the entry point, [telemetry.otel] settings, errors."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import hybrid_core
import pytest
from hybrid_core import ConfigError, Hybrid

import hybrid_core_otel
from hybrid_core_otel import OtelSettings, OtelSink, hybrid_telemetry_sinks


def test_the_distribution_declares_the_otel_entry_point() -> None:
    dist = importlib.metadata.distribution("hybrid-core-otel")
    (entry,) = [e for e in dist.entry_points if e.group == "hybrid_core"]
    assert (entry.name, entry.value) == ("otel", "hybrid_core_otel")
    assert dist.version == hybrid_core_otel.__version__
    requires = " ".join(dist.requires or ())
    assert "opentelemetry-api" in requires and "opentelemetry-sdk" in requires


def test_an_installed_system_loads_the_plugin_and_attaches_the_sink() -> None:
    config = {"telemetry": {"sinks": ["otel"], "otel": {"exporter": "none"}},
              "plugins": {"only": ["otel"]}}  # fmt: skip
    with Hybrid(config) as system:
        (record,) = [r for r in system.plugins if r.name == "otel"]
        assert record.status == "loaded" and record.distribution == "hybrid-core-otel"
        assert [type(s).__name__ for s in system.telemetry.sinks] == ["OtelSink"]
        assert system.problems == []


def test_no_sink_unless_asked_for() -> None:
    assert hybrid_telemetry_sinks({"sinks": ["jsonl"]}) == []


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ({"exporter": "otlp"}, "telemetry.otel.exporter", "must be one of global, console, none"),
        ({"service_name": ""}, "telemetry.otel.service_name", "must be a non-empty string"),
        ({"metrics": "yes"}, "telemetry.otel.metrics", "must be true or false"),
        ({"servce_name": "x"}, "telemetry.otel.servce_name", "did you mean 'service_name'?"),
    ],
)
def test_bad_settings_are_a_config_error_naming_the_key(
    table: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        hybrid_telemetry_sinks({"sinks": ["otel"], "otel": table})
    (problem,) = caught.value.problems
    assert problem.key == key and message in problem.message


def test_a_system_reports_bad_settings_as_the_files_problems_all_at_once() -> None:
    table = {"exporter": "jaeger", "servce_name": "x", "metrics": "yes"}
    config = {"telemetry": {"sinks": ["otel"], "otel": table}}
    with pytest.raises(ConfigError) as caught:
        Hybrid(config, plugins=[hybrid_core_otel], entry_points=False).start()
    found = {p.key: p.message for p in caught.value.problems}
    assert found == {
        "telemetry.otel.exporter": "must be one of 'global', 'console', 'none', not a string "
        "('jaeger')",
        "telemetry.otel.servce_name": "unknown setting (did you mean 'service_name'?)",
        "telemetry.otel.metrics": "must be true or false, not a string ('yes')",
    }


def test_console_exporter_prints_spans_with_our_ids(capsys: pytest.CaptureFixture[str]) -> None:
    sink = OtelSink.from_settings(OtelSettings(exporter="console", service_name="reviewer"))
    bus = hybrid_core.TelemetryBus()
    bus.attach(sink)
    ctx = hybrid_core.ExecutionContext.root(name="w")
    bus.emit("run.start", ctx, workflow="w")
    bus.emit("run.stop", ctx, duration=0.01, workflow="w", status="succeeded")
    bus.close()
    err = capsys.readouterr().err
    assert f'"trace_id": "0x{ctx.trace_id}"' in err and f'"span_id": "0x{ctx.span_id}"' in err
    assert '"service.name": "reviewer"' in err


def test_global_providers_are_used_by_default() -> None:
    from opentelemetry import trace

    sink = OtelSink.from_settings(OtelSettings())
    assert sink._tracer_provider is trace.get_tracer_provider()
