"""`hybrid trace`: the terminal timeline, JSON, the HTML page, and damaged files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import hybrid_core as hc
from hybrid_core import Engine, Hybrid, RoutingPolicy
from hybrid_core._cli.trace import trace
from hybrid_core._telemetry.jsonl import JsonlSink
from hybrid_core.testing import make_plugin

BLOCKS = re.compile("[█▒▓░─▚]")


def flaky() -> Callable[[object], object]:
    calls: list[int] = []

    def handler(payload: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("warming up")
        return payload

    return handler


def count(text: str) -> int:
    return len(text)


def record(path: Path) -> str:
    """Record a workflow with a routed step that retries, a composed one, a skipped one."""
    sub = hc.Workflow("summarise", inputs=["text"])
    sub.step("count", count, text=hc.input("text"))
    sub.returns("count")
    wf = hc.Workflow("review", inputs=["text"])
    wf.add(hc.capability_step("parse", "text.parse", payload=hc.input("text")))
    wf.compose("summary", sub, text=hc.result("parse"))
    wf.step("optional", lambda text: text, text=hc.input("text"), where=lambda text: False)
    wf.step("report", lambda n, t: f"{t}:{n}", n=hc.result("summary"), t=hc.result("parse"))
    wf.returns("report")
    engines = [
        Engine(name="fast", capabilities={"text.parse": 5}, handler=flaky()),
        Engine(name="slow", capabilities={"text.parse": 1}, handler=str.upper),
    ]
    system = Hybrid(
        plugins=[make_plugin("p", engines=engines)],
        entry_points=False,
        sinks=[JsonlSink(path)],
        routing=RoutingPolicy(backoff=0.0),
    )
    with system:
        result = system.run(wf, text="hello")
    assert result.unwrap() == "HELLO:5"
    return result.trace_id


def invoke(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(trace, list(args))
    return done.exit_code, done.stdout, done.stderr


def test_the_timeline_shows_steps_calls_decisions_and_the_critical_path(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    trace_id = record(path)
    code, out, err = invoke(str(path), "--width", "200")  # wide enough for every note
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"trace {trace_id}: 2 runs, 5 steps, 2 routing decisions")
    rows = {line[2:].split()[1]: line for line in lines[3:] if len(line[2:].split()) > 1}
    for step in ("parse", "summary", "optional", "report", "count"):
        assert step in rows, step
    assert rows["report"].startswith("*") and rows["parse"].startswith("*")
    assert not rows["optional"].startswith("*") and "skipped" in rows["optional"]
    decisions = [line for line in lines if " route text.parse" in line]
    assert "-> fast: priority chose 'fast' (score 5)" in decisions[0]
    assert "ERROR" in decisions[0]
    assert "avoiding after failure: fast" in decisions[1]
    assert any(" call fast " in line and "RuntimeError: warming up" in line for line in lines)
    assert BLOCKS.search(out)


def test_a_recorded_run_carries_its_dependency_graph(tmp_path: Path) -> None:
    from hybrid_core._trace.html import trace_data
    from hybrid_core._trace.reader import read_trace

    path = tmp_path / "t.jsonl"
    record(path)
    runs = {run["name"]: run for run in trace_data(read_trace(path))["runs"]}
    assert sorted(map(tuple, runs["review"]["edges"])) == [
        ("parse", "report"), ("parse", "summary"), ("summary", "report")
    ]
    assert runs["summarise"]["edges"] == []


def test_ascii_bars_on_request(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record(path)
    code, out, _ = invoke(str(path), "--ascii")
    assert code == 0 and not BLOCKS.search(out) and "#" in out


def test_json_output_is_the_span_tree(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    trace_id = record(path)
    code, out, _ = invoke(str(path), "--json")
    data = json.loads(out)
    assert code == 0 and data["problems"] == []
    (run,) = data["spans"]
    assert (run["kind"], run["name"], run["trace_id"]) == ("run", "review", trace_id)
    children = {c["name"]: c for c in run["children"]}
    assert set(children) == {"parse", "summary", "optional", "report"}
    assert run["critical"] and children["report"]["critical"]
    assert not children["optional"]["critical"]


def test_html_is_one_self_contained_page(tmp_path: Path) -> None:
    path, page = tmp_path / "run.jsonl", tmp_path / "run.html"
    record(path)
    code, out, _ = invoke(str(path), "--html", str(page))
    # 2 runs, 5 steps, 2 routing decisions, 2 calls
    assert code == 0 and out == f"wrote {page} (11 spans)\n"
    html = page.read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    assert re.findall(r"https?://[^\"' )]+", html) == ["http://www.w3.org/2000/svg"]
    data = json.loads(re.search(r'id="trace-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    steps = [s["name"] for s in data["spans"] if s["kind"] == "step"]
    assert sorted(steps) == ["count", "optional", "parse", "report", "summary"]
    (review, summarise) = data["runs"]
    assert {n["name"]: n["status"] for n in review["nodes"]} == {
        "parse": "succeeded", "summary": "succeeded", "optional": "skipped", "report": "succeeded",
    }  # fmt: skip
    assert summarise["name"] == "summarise"


def test_script_breaking_text_in_the_trace_cannot_end_the_data_block(tmp_path: Path) -> None:
    path, page = tmp_path / "run.jsonl", tmp_path / "run.html"
    sink = JsonlSink(path)
    bus = hc.TelemetryBus()
    bus.attach(sink)
    context = hc.ExecutionContext.root(name="w")
    bus.emit("run.start", context, workflow="</script><script>alert(1)</script>")
    bus.close()
    invoke(str(path), "--html", str(page))
    html = page.read_text()
    assert html.count("</script>") == 2 and "alert(1)" in html


def test_a_truncated_recording_warns_and_still_shows_the_timeline(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record(path)
    path.write_text(path.read_text()[:-30])
    code, out, err = invoke(str(path))
    assert code == 0
    assert "warning:" in err and "cut off" in err
    assert "run review" in out and "unfinished" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [("not a trace\n", "is not a hybrid_core trace: line 1 is not JSON"), ("", "is empty")],
)
def test_a_file_that_is_no_trace_fails_with_one_clear_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    code, out, err = invoke(str(path))
    assert code == 2 and out == ""
    assert err == f"error: {path}: {message}" + err.split(message, 1)[1]
    assert len(err.strip().splitlines()) == 1


def record_map(path: Path, *, failing: int | None = None) -> None:
    """A map over twelve elements, each a run of a one-step workflow."""
    one = hc.Workflow("per_item", inputs=["item"])

    def work(item: int) -> int:
        if item == failing:
            raise ValueError(f"item {item} is bad")
        return item * 2

    one.step("work", work, item=hc.input("item"))
    one.returns("work")
    wf = hc.Workflow("fan", inputs=[])
    wf.map("each", one, over=list(range(12)), item="item", concurrency=3)
    wf.step("after", lambda xs: sum(xs) + 1, xs=hc.result("each"))
    with Hybrid(entry_points=False, sinks=[JsonlSink(path)]) as system:
        system.run(wf)


def test_element_runs_are_one_row_unless_expanded(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record_map(path)
    code, out, _ = invoke(str(path), "--width", "120")
    assert code == 0
    folded = [line for line in out.splitlines() if "run per_item" in line]
    assert len(folded) == 1 and "run per_item x12" in folded[0]
    assert "12 element runs; slowest each[" in folded[0]
    assert any("step each" in line and "12 elements" in line for line in out.splitlines())
    _, expanded, _ = invoke(str(path), "--width", "120", "--expand")
    names = re.findall(r"run per_item (each\[\d+\])", expanded)
    assert sorted(names, key=lambda n: int(n[5:-1])) == [f"each[{k}]" for k in range(12)]


def test_a_failed_element_run_keeps_its_own_row(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record_map(path, failing=7)
    _, out, _ = invoke(str(path), "--width", "220")
    rows = [line for line in out.splitlines() if "run per_item" in line]
    # the bad element failed; the ones running beside it were cancelled
    assert "run per_item x" in rows[0] and "did not succeed (below)" in rows[0]
    assert any("run per_item each[7]" in row and "FAILED" in row for row in rows[1:])


def test_width_depth_and_filter(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record_map(path)
    for width in ("40", "80", "120"):
        _, out, _ = invoke(str(path), "--width", width, "--expand")
        assert max(len(line) for line in out.splitlines()) <= int(width)
    _, top, _ = invoke(str(path), "--depth", "0")
    assert [line.split()[1:3] for line in top.splitlines()[3:]] == [["run", "fan"]]
    _, steps, _ = invoke(str(path), "--depth", "1")
    assert {line.split()[2] for line in steps.splitlines()[4:]} == {"each", "after"}
    _, found, _ = invoke(str(path), "--filter", "each[3]", "--expand")
    rows = found.splitlines()[3:]
    assert len(rows) == 4  # the element's run, its step, and the two rows it sits in
    labels = ["run fan", "step each", "run per_item each[3]", "step work"]
    for row, label in zip(rows, labels, strict=True):
        assert row[2:].lstrip().startswith(label + " "), row
    assert "each[4]" not in found and "step after" not in found


def test_html_draws_one_graph_for_a_maps_element_runs(tmp_path: Path) -> None:
    from hybrid_core._trace.html import trace_data
    from hybrid_core._trace.reader import read_trace

    path = tmp_path / "run.jsonl"
    record_map(path, failing=7)
    data = trace_data(read_trace(path))
    graphs = [(g["name"], g.get("runs"), g.get("element")) for g in data["runs"]]
    assert graphs == [("fan", None, None), ("per_item", 12, "each[7]")]  # the failed one
    ids = {s["id"] for s in data["spans"]}
    assert all(s["parent"] is None or s["parent"] in ids for s in data["spans"])
    (root,) = [s for s in data["spans"] if s["depth"] == 0]
    assert root["parent"] is None


def test_html_folds_a_maps_element_runs_into_one_row_that_opens(tmp_path: Path) -> None:
    from hybrid_core._trace.html import trace_data
    from hybrid_core._trace.reader import read_trace

    path = tmp_path / "run.jsonl"
    record_map(path)
    data = trace_data(read_trace(path))
    spans = data["spans"]
    shown = [(s["kind"], s["name"]) for s in spans if not s["groups"]]
    assert shown == [("run", "fan"), ("step", "each"), ("run", "per_item x12"), ("step", "after")]
    (fold,) = [s for s in spans if s.get("folded")]
    assert fold["folded"]["count"] == 12 and fold["folded"]["failed"] == 0
    assert fold["attributes"]["folded"].startswith("12 element runs; slowest each[")
    each = next(s for s in spans if s["name"] == "each")
    assert fold["parent"] == each["id"] and fold["depth"] == each["depth"] + 1
    # Every member is in the page, hidden under the fold with what nests in it, and
    # follows the fold row so that opening it shows them under it.
    members = [s for s in spans if s["groups"]]
    assert all(s["groups"] == [fold["id"]] for s in members)
    runs = [s for s in members if s["kind"] == "run"]
    assert sorted(s["id"] for s in runs) == sorted(fold["folded"]["members"])
    assert sorted(s["attributes"]["element"] for s in runs) == sorted(
        f"each[{k}]" for k in range(12)
    )
    assert len([s for s in members if s["kind"] == "step" and s["name"] == "work"]) == 12
    at = [s["id"] for s in spans].index(fold["id"])
    assert {s["id"] for s in spans[at + 1 : at + 1 + len(members)]} == {s["id"] for s in members}
    # One graph for the element runs, as before; the fold itself is not a run to draw.
    assert [(g["name"], g.get("runs")) for g in data["runs"]] == [("fan", None), ("per_item", 12)]


def test_html_keeps_a_failed_element_run_in_view(tmp_path: Path) -> None:
    from hybrid_core._trace.html import trace_data
    from hybrid_core._trace.reader import read_trace

    path = tmp_path / "run.jsonl"
    record_map(path, failing=7)
    spans = trace_data(read_trace(path))["spans"]
    (fold,) = [s for s in spans if s.get("folded")]
    assert fold["status"] == "failed" and fold["folded"]["failed"] >= 1
    bad = [s for s in spans if s["attributes"].get("element") == "each[7]"]
    assert len(bad) == 1 and bad[0]["groups"] == [] and bad[0]["status"] == "failed"
    assert bad[0]["id"] in fold["folded"]["members"]
    visible = [s for s in spans if s["kind"] == "run" and not s["groups"]]
    assert all(s["status"] != "succeeded" for s in visible if s["attributes"].get("element"))


def test_the_pages_script_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed; the script's syntax is checked with node --check")
    path, page = tmp_path / "run.jsonl", tmp_path / "run.html"
    record_map(path)
    invoke(str(path), "--html", str(page))
    html = page.read_text()
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and "function toggle(" in scripts[0]
    (tmp_path / "page.js").write_text(scripts[0])
    checked = subprocess.run([node, "--check", str(tmp_path / "page.js")],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
