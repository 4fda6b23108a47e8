"""Reading recorded traces back: good files, damaged files, files from elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hybrid_core as hc
from hybrid_core import Engine, Event, Hybrid, RoutingPolicy
from hybrid_core._telemetry.jsonl import JsonlSink, event_line
from hybrid_core._trace.reader import TraceError, build_trace, critical_path, read_trace
from hybrid_core.testing import make_plugin


def count(text: str) -> int:
    return len(text)


def record(path: Path) -> hc.RunResult:
    """Record a small hybrid workflow (a routed step, a composed one, a skipped one)."""
    sub = hc.Workflow("summarise", inputs=["text"])
    sub.step("count", count, text=hc.input("text"))
    sub.returns("count")
    wf = hc.Workflow("review", inputs=["text"])
    wf.add(hc.capability_step("parse", "text.upper", payload=hc.input("text")))
    wf.compose("summary", sub, text=hc.result("parse"))
    wf.step("optional", lambda text: text, text=hc.input("text"), where=lambda text: False)
    wf.step("report", lambda n, t: f"{t}:{n}", n=hc.result("summary"), t=hc.result("parse"))
    wf.returns("report")
    engine = Engine(name="loud", capabilities={"text.upper": 5}, handler=str.upper)
    system = Hybrid(
        plugins=[make_plugin("p", engines=[engine])],
        entry_points=False,
        sinks=[JsonlSink(path)],
        routing=RoutingPolicy(backoff=0.0),
    )
    with system:
        result = system.run(wf, text="hello")
    assert result.unwrap() == "HELLO:5"
    return result


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


HEADER = json.dumps({"format": "hybrid-core-trace", "version": 1, "recording": "r", "part": 1})


def test_a_recorded_run_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    result = record(path)
    trace = read_trace(path)
    assert trace.problems == []
    assert trace.header is not None and trace.header["version"] == 1
    assert trace.trace_ids == [result.trace_id]
    (root,) = trace.roots
    assert [s.name for s in sorted(root.children, key=lambda s: s.start)] == [
        "parse",
        "summary",
        "optional",
        "report",
    ]
    assert trace.count("step") == 5 and trace.count("call") == 1
    assert trace.summary().startswith(f"trace {result.trace_id}: 2 runs, 5 steps")


def test_a_truncated_file_shows_what_it_holds_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record(path)
    text = path.read_text()
    cut = text[: len(text) - 40]  # the last line loses its end
    path.write_text(cut)
    trace = read_trace(path)
    complete = len(text.splitlines()) - 2  # minus the header and the damaged line
    assert len(trace.events) == complete
    assert any("is cut off: the recording was truncated" in p for p in trace.problems)
    assert any("run 'review' has no end" in p for p in trace.problems)
    assert trace.roots[0].status == "unfinished"


def test_a_damaged_line_in_the_middle_is_skipped_and_counted(tmp_path: Path) -> None:
    event = event_line(Event("run.start", 5.0, span_id="a" * 16, trace_id="b" * 32))
    path = write_lines(tmp_path / "t.jsonl", HEADER, "{oops", event, "[1, 2]")
    trace = read_trace(path)
    assert len(trace.events) == 1
    (problem,) = trace.problems[:1]
    assert "skipped 2 line(s) that are not events: line 2" in problem and "line 4" in problem


def test_a_newer_format_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    header = json.dumps({"format": "hybrid-core-trace", "version": 7})
    known = event_line(Event("run.start", 5.0, span_id="a" * 16, attributes={"workflow": "w"}))
    future = json.dumps({"name": "quantum.entangle", "timestamp": 6.0, "new_field": 1})
    trace = read_trace(write_lines(tmp_path / "t.jsonl", header, known, future))
    assert (
        "written by a newer hybrid_core (trace format version 7; this one reads version 1)"
        in (trace.problems[0])
    )
    assert "skipped 1 event(s) this version does not know: quantum.entangle" in trace.problems
    assert [r.name for r in trace.roots] == ["w"]


def test_a_file_without_header_is_read_as_events_with_a_note(tmp_path: Path) -> None:
    line = event_line(Event("run.start", 5.0, span_id="a" * 16))
    trace = read_trace(write_lines(tmp_path / "t.jsonl", line))
    assert "has no header line" in trace.problems[0] and len(trace.events) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: nothing was recorded"),
        (b"\n\n", "is empty: nothing was recorded"),
        (b"hello world\n", "is not a hybrid_core trace: line 1 is not JSON"),
        (b"\xff\xfe\x00garbage", "is not a text file"),
        (b"[1, 2, 3]\n", "line 1 is not an object"),
        (b'{"level": "info", "msg": "x"}\n', "line 1 is neither a header nor an event"),
        (b'{"format": "otlp-json", "version": 1}\n', "is a 'otlp-json' file"),
    ],
)
def test_what_is_not_a_trace_at_all_raises_a_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "not.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceError, match=message) as caught:
        read_trace(path)
    assert caught.value.path == str(path) and str(caught.value).startswith(str(path))


def test_a_missing_file_says_how_to_record_one(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"no such file; record one with 'hybrid run"):
        read_trace(tmp_path / "nope.jsonl")


def test_a_header_only_recording_has_nothing_to_show(tmp_path: Path) -> None:
    trace = read_trace(write_lines(tmp_path / "t.jsonl", HEADER))
    assert trace.roots == [] and "the recording holds no events" in trace.problems[0]


def step_events(run: str, steps: list[tuple[str, float, float]], graph: Any = None) -> list[Event]:
    attributes: dict[str, Any] = {"workflow": "w"}
    if graph is not None:
        attributes["graph"] = graph
    lineage = ((run, "w"),)
    events = [Event("run.start", 0.0, span_id=run, lineage=lineage, attributes=attributes)]
    for name, start, end in steps:
        events.append(Event("step.start", start, span_id=run, step=name, lineage=lineage))
        events.append(
            Event("step.stop", end, span_id=run, step=name, duration=end - start, lineage=lineage)
        )
    events.append(Event("run.stop", 10.0, span_id=run, duration=10.0, lineage=lineage))
    return sorted(events, key=lambda e: e.timestamp)


def critical_names(events: list[Event]) -> list[str]:
    trace = build_trace(events)
    marked = critical_path(trace)
    return sorted(s.name for s in trace.spans() if s.span_id in marked and s.kind == "step")


def test_without_a_graph_the_critical_path_follows_what_finished_before_each_start() -> None:
    steps = [("a", 0.0, 3.0), ("b", 3.0, 6.0), ("c", 0.0, 1.0), ("d", 6.0, 9.0)]
    assert critical_names(step_events("1" * 16, steps)) == ["a", "b", "d"]


def test_with_a_graph_the_critical_path_follows_the_dependencies() -> None:
    steps = [("a", 0.0, 3.0), ("b", 3.0, 6.0), ("c", 0.0, 1.0), ("d", 6.0, 9.0)]
    graph = {"a": [], "b": ["a"], "c": [], "d": ["c"]}
    assert critical_names(step_events("1" * 16, steps, graph)) == ["c", "d"]
