"""``hybrid run``, ``graph`` and ``plan`` through the real executable."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from clitools import run_hybrid

FLOWS = """
import hybrid_core as hc

wf = hc.Workflow("demo", inputs=["n"])

@wf.step(n=hc.input("n"))
def double(n):
    return int(n) * 2

@wf.step(x=hc.result("double"))
def check(x):
    if x > 100:
        raise ValueError("too big")
    return {"value": x + 1}

wf.returns("check")
wf.step("after", lambda v: v, v=hc.result("check"))
not_a_workflow = 42
"""


@pytest.fixture
def flows(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (tmp_path / "broken_flows.py").write_text("import hybrid_core\n\n1 / 0\n")
    return {"PYTHONPATH": str(tmp_path), "HYBRID_CORE_PLUGINS": ""}


def test_run_prints_a_summary_and_the_value(flows: dict[str, str]) -> None:
    result = run_hybrid("run", "flows:wf", "--input", "n=4", env=flows)
    assert result.returncode == 0, result.stderr
    assert "workflow 'demo' succeeded" in result.stdout
    assert '"value": 9' in result.stdout


def test_run_json_and_failure_exit_code(flows: dict[str, str], tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"n": 400}')
    result = run_hybrid("run", "flows:wf", "--input-file", str(inputs), "--json", env=flows)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["status"] == "failed"
    assert data["steps"]["double"] == {**data["steps"]["double"], "status": "succeeded"}
    assert data["steps"]["check"]["status"] == "failed"
    assert "step 'check'" in result.stderr and "ValueError: too big" in result.stderr


def test_a_failed_run_says_its_error_once(flows: dict[str, str]) -> None:
    result = run_hybrid("run", "flows:wf", "--input", "n=400", env=flows)
    assert result.returncode == 1
    seen = result.stdout + result.stderr
    assert seen.count("too big") == 1, seen
    last = result.stderr.splitlines()[-1]
    assert last.startswith(
        "error: workflow 'demo' failed at step 'check': step 'check' of workflow 'demo' "
        "failed after 1 attempt: ValueError: too big; 'hybrid resume "
    )
    assert last.endswith("' runs what did not complete")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("workflow 'demo' failed in ")
    assert lines[2].startswith("  check [function] failed in ")
    assert lines[3] == "  after [function] not started"


def test_json_inputs_with_colon_equals(flows: dict[str, str]) -> None:
    result = run_hybrid("run", "flows:wf", "-i", "n:=7", "--json", env=flows)
    assert json.loads(result.stdout)["value"] == {"value": 15}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "flows:wf", "--input", "n"), "write key=value (text) or key:=json"),
        (("run", "flows:wf", "--input", "n:={"), "is not JSON"),
        (("run", "flows:not_a_workflow"), "is int, not a hybrid_core.Workflow"),
        (("run", "nosuch.module:wf"), "cannot import 'nosuch.module'"),
        (("run", "broken_flows:wf"), "raised ZeroDivisionError: division by zero (at "),
        (("run", "review"), "no workflow is named 'review'"),
        (("run", "flows:wf", "--input-file", "/nonexistent.json"), "cannot be read"),
        (("run", "flows:wf", "--max-concurrency", "0"), "0 is not in the range x>=1"),
    ],
)
def test_bad_run_arguments_exit_2_with_one_line(
    flows: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = run_hybrid(*args, env=flows)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_input_is_a_clear_failure(flows: dict[str, str]) -> None:
    result = run_hybrid("run", "flows:wf", env=flows)
    assert result.returncode == 2
    assert "'n'" in result.stderr and "Traceback" not in result.stderr


def test_graph_in_mermaid_and_dot(flows: dict[str, str]) -> None:
    mermaid = run_hybrid("graph", "flows:wf", env=flows)
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("%% workflow demo")
    assert "flowchart TD" in mermaid.stdout
    dot = run_hybrid("graph", "flows:wf", "--format", "dot", env=flows)
    assert dot.returncode == 0 and 'digraph "demo"' in dot.stdout and "s0 -> s1" in dot.stdout


def test_plan_prints_the_critical_path(flows: dict[str, str]) -> None:
    result = run_hybrid("plan", "flows:wf", env=flows)
    assert result.returncode == 0, result.stderr
    assert "critical path (3 steps): double -> check -> after" in result.stdout
    data = json.loads(run_hybrid("plan", "flows:wf", "--json", env=flows).stdout)
    assert data["critical_path"] == ["double", "check", "after"] and data["missing"] == []


def test_a_sink_failing_on_every_event_warns_once_and_the_run_succeeds(
    flows: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "badsink.py").write_text(textwrap.dedent("""
        import hybrid_core

        class Bad:
            name = "bad"
            def handle(self, event):
                raise RuntimeError("disk full")
            def flush(self):
                pass
            def close(self):
                pass

        @hybrid_core.hookimpl
        def hybrid_telemetry_sinks(settings):
            return [Bad()] if "bad" in settings["sinks"] else []
    """))
    info = tmp_path / "badsink-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badsink\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\nbadsink = badsink\n")
    (tmp_path / "hybrid.toml").write_text('[telemetry]\nsinks = ["bad"]\n')
    env = {**flows, "HYBRID_CORE_PLUGINS": "badsink"}
    result = run_hybrid("run", "flows:wf", "-i", "n=2", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning: telemetry sink" in line]
    expected = "warning: telemetry sink 'bad' failed and was skipped: RuntimeError: disk full"
    assert warnings == [expected]


REFUSING = """
import hybrid_core as hc

def take(n):
    if int(n) < 0:
        raise hc.PayloadError(f"input 'n' must be >= 0, not {n}")
    return int(n)

def inner(m):
    raise hc.PayloadError("the workflow passed something bad along")

wf = hc.Workflow("refusing", inputs=["n"])
wf.step("take", take, n=hc.input("n"))
wf.step("inner", inner, m=hc.result("take"))
"""


def test_a_step_refusing_the_commands_input_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "refusing_flow.py").write_text(REFUSING)
    env = {"PYTHONPATH": str(tmp_path)}
    bad = run_hybrid("run", "refusing_flow:wf", "-i", "n=-1", cwd=tmp_path, env=env)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == (
        "no configuration file; using the defaults\nerror: input 'n' must be >= 0, not -1\n"
    )
    # A step given another step's result: the workflow's fault, not the command line's.
    inner = run_hybrid("run", "refusing_flow:wf", "-i", "n=1", cwd=tmp_path, env=env)
    assert inner.returncode == 1
    assert "the workflow passed something bad along" in inner.stderr


SLEEPY_PLUGIN = """
import time
import hybrid_core

def nap(payload):
    time.sleep(float(payload["seconds"]))
    return "woke"

@hybrid_core.hookimpl
def hybrid_engines():
    return [
        hybrid_core.Engine(name="sleepy.bounded", capabilities={"nap.bounded": 1},
                           handler=nap, timeout=0.5),
        hybrid_core.Engine(name="sleepy.loop", capabilities={"nap.loop": 1}, handler=nap),
    ]
"""

SLEEPY_FLOW = """
import hybrid_core as hc
wf = hc.Workflow("sleepy", inputs=["cap", "seconds"])
bounded = hc.Workflow("bounded", inputs=["seconds"])
bounded.add(hc.capability_step("nap", "nap.bounded", seconds=hc.input("seconds")))
bounded.returns("nap")
loop = hc.Workflow("loop", inputs=["seconds"])
loop.add(hc.capability_step("nap", "nap.loop", seconds=hc.input("seconds")))
loop.returns("nap")
"""


def _sleepy(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sleepy_plugin.py").write_text(SLEEPY_PLUGIN)
    (tmp_path / "sleepy_flow.py").write_text(SLEEPY_FLOW)
    info = tmp_path / "sleepy_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sleepy-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\nsleepy = sleepy_plugin\n")
    return {"PYTHONPATH": str(tmp_path)}


def test_an_engine_timeout_holds_for_a_sync_handler(tmp_path: Path) -> None:
    env = _sleepy(tmp_path)
    result = run_hybrid("run", "sleepy_flow:bounded", "-i", "seconds:=3", "--json",
                        cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 1, result.stderr
    step = json.loads(result.stdout)["steps"]["nap"]
    assert step["status"] == "failed"
    assert "EngineTimeout" in step["error"] or "timed out" in step["error"]


def test_a_run_timeout_is_not_ignored_by_a_sync_handler_on_the_loop(tmp_path: Path) -> None:
    env = _sleepy(tmp_path)
    result = run_hybrid("run", "sleepy_flow:loop", "-i", "seconds:=1.5", "--timeout", "0.3",
                        "--json", cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "failed"
    assert "deadline" in (run["error"] or "")


def test_the_command_does_not_wait_for_thread_calls_nobody_awaits(tmp_path: Path) -> None:
    env = _sleepy(tmp_path)
    # Each attempt times out after 0.5 s and leaves a thread sleeping ten minutes; the
    # command must end anyway (run_hybrid gives up after two minutes).
    result = run_hybrid("run", "sleepy_flow:bounded", "-i", "seconds:=600", "-q",
                        cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "warning: 3 blocking call(s) nobody awaited were still running in threads and were "
        "abandoned"
    )


PROCESS_FLOWS = """
import hybrid_core as hc


def boom(x):
    raise ValueError(f"bad value {x}")


wf = hc.Workflow("wk", inputs=["x"])
wf.step("proc", boom, x=hc.input("x"), blocking="process")
"""


def test_an_error_from_a_worker_process_is_one_readable_line(tmp_path: Path) -> None:
    (tmp_path / "wkflows.py").write_text(PROCESS_FLOWS)
    env = {"PYTHONPATH": str(tmp_path), "HYBRID_CORE_PLUGINS": ""}
    result = run_hybrid("run", "wkflows:wf", "-i", "x=3", "-q", env=env)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    where = tmp_path / "wkflows.py"
    # The worker's traceback is said as where it was raised, not pasted onto the line
    # (which ends with how to resume the run).
    assert line.split("; 'hybrid resume ")[0].endswith(
        f"ValueError: bad value 3 (caused by RemoteTraceback: raised at {where}:6 in boom)"
    ), line
    assert "most recent call last" not in line
    data = json.loads(run_hybrid("run", "wkflows:wf", "-i", "x=3", "--json", env=env).stdout)
    assert data["steps"]["proc"]["error"].endswith(f"raised at {where}:6 in boom)")
