"""The JSON lines sink: a header, one event per line, flushed on close, rotating by size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybrid_core import Engine, Event, ExecutionContext, Hybrid, TelemetryBus
from hybrid_core._telemetry.jsonl import JsonlSink, event_from_dict
from hybrid_core._trace.reader import read_trace
from hybrid_core.testing import make_plugin


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def event(n: int, **attributes: object) -> Event:
    ctx = ExecutionContext.root(name="wf").child(name=f"s{n}")
    return Event(
        "step.start",
        1000.0 + n,
        ctx.run_id,
        ctx.trace_id,
        ctx.span_id,
        ctx.parent_span_id,
        step=f"s{n}",
        attributes=attributes,
        lineage=((ctx.span_id, f"s{n}"), (ctx.parent_span_id or "", "wf")),
    )


def test_header_then_one_event_per_line_and_nothing_before_close(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path)
    sink.handle(event(1, kind="function"))
    assert path.read_text().count("\n") == 0  # buffered until a flush or close
    sink.handle(event(2))
    sink.close()
    header, first, second = lines(path)
    assert header["format"] == "hybrid-core-trace" and header["version"] == 1
    assert header["part"] == 1 and header["recording"] == sink.recording
    assert first["name"] == "step.start" and first["step"] == "s1"
    assert first["attributes"] == {"kind": "function"}
    assert "duration" not in first and "attributes" not in second


def test_a_line_reads_back_as_the_same_event(tmp_path: Path) -> None:
    original = event(3, scores={"a": 1.5, "b": None}, candidates=["a", "b"])
    path = tmp_path / "one.jsonl"
    sink = JsonlSink(path)
    sink.handle(original)
    sink.close()
    again = event_from_dict(lines(path)[1])
    assert again == original


def test_values_json_cannot_encode_are_written_readably(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    sink = JsonlSink(path)
    sink.handle(event(1, tags={"b", "a"}, error=ValueError("bad")))
    sink.close()
    attributes = lines(path)[1]["attributes"]
    assert attributes == {"tags": ["a", "b"], "error": "ValueError('bad')"}


def test_flush_writes_what_is_buffered(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path)
    sink.handle(event(1))
    sink.flush()
    assert len(lines(path)) == 2
    sink.close()


def test_an_unused_sink_leaves_a_header_only_recording(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "empty.jsonl"
    JsonlSink(path).close()
    (header,) = lines(path)
    assert header["format"] == "hybrid-core-trace"


def test_rotation_keeps_backups_and_every_part_starts_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path, max_bytes=1200, backups=2)
    for n in range(60):
        sink.handle(event(n))
    sink.close()
    parts = sorted(tmp_path.iterdir())
    assert [p.name for p in parts] == ["run.jsonl", "run.jsonl.1", "run.jsonl.2"]
    headers = [
        lines(p)[0] for p in (path.with_name("run.jsonl.2"), path.with_name("run.jsonl.1"), path)
    ]
    assert {h["recording"] for h in headers} == {sink.recording}
    numbers = [h["part"] for h in headers]
    assert numbers == sorted(numbers) and numbers[-1] > 3  # older parts were discarded
    for p in parts:
        assert p.stat().st_size <= 1200


def test_reading_the_newest_part_puts_the_kept_parts_back_together(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path, max_bytes=1000, backups=10)
    for n in range(30):
        sink.handle(event(n))
    sink.close()
    trace = read_trace(path)
    assert [e.step for e in trace.events] == [f"s{n}" for n in range(30)]
    assert trace.files[-1] == str(path) and len(trace.files) > 2


def test_configured_jsonl_sink_records_a_run(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "run.jsonl"
    engine = Engine(name="echo", capabilities={"text.echo": 1}, handler=lambda p: p)
    config = {"telemetry": {"sinks": ["jsonl"], "jsonl": {"path": str(path)}}}
    with Hybrid(config, plugins=[make_plugin("p", engines=[engine])], entry_points=False) as s:
        assert s.execute("text.echo", "hi") == "hi"
    names = [line["name"] for line in lines(path)[1:]]
    assert names == ["route.decision", "engine.call.start", "engine.call.stop"]


def test_events_after_close_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    bus, sink = TelemetryBus(), JsonlSink(path)
    bus.attach(sink)
    bus.emit("run.start")
    bus.close()
    sink.handle(event(9))
    assert [line.get("name") for line in lines(path)] == [None, "run.start"]


@pytest.mark.parametrize("option", [{"max_bytes": -1}, {"backups": "3"}, {"max_bytes": True}])
def test_bad_sizes_are_refused_when_built_in_python(
    tmp_path: Path, option: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        JsonlSink(tmp_path / "x.jsonl", **option)  # type: ignore[arg-type]
