"""Ctrl-C and SIGTERM against the real ``hybrid`` command in a subprocess.

Each test starts a run whose steps are busy (async sleeps, a thread call, a call in a
worker process), waits until they have started (they write marker files), sends real
signals, and checks what a person sees: one line on stderr, the shell's exit code, and no
process of the run left alive afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import hybrid_executable

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

FLOWS = """
import asyncio, os, time
import hybrid_core as hc

MARKS = os.environ["MARKS"]

def mark(name):
    with open(os.path.join(MARKS, name), "w"):
        pass

async def quick(x):
    return x

async def nap(i):
    mark(f"nap{i}")
    await asyncio.sleep(60)
    return i

def block(i):
    mark("thread")
    time.sleep(float(os.environ.get("THREAD_SLEEP", "60")))
    return i

def crunch(i):
    mark(f"process{os.getpid()}")
    time.sleep(60)
    return i

busy = hc.Workflow("busy", inputs=["x"])
busy.step("first", quick, x=hc.input("x"))
for i in range(3):
    busy.step(f"nap{i}", nap, i=hc.result("first"))
busy.step("thread", block, i=hc.result("first"), blocking="thread")
busy.step("process", crunch, i=hc.result("first"), blocking="process")
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    (tmp_path / "sig_flows.py").write_text(FLOWS)
    (tmp_path / "marks").mkdir()
    return tmp_path


def start(flows: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k != "HYBRID_CORE_PLUGINS"}
    full.update(PYTHONPATH=str(flows), MARKS=str(flows / "marks"), **(env or {}))
    return subprocess.Popen(
        [*hybrid_executable(), "run", "sig_flows:busy", "-i", "x=1", *args],
        cwd=flows,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc (children of each thread)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_marks(flows: Path, proc: subprocess.Popen[str], names: set[str]) -> None:
    """Poll until every step named in ``names`` has started (or the command ended)."""
    for _ in range(600):
        seen = {p.name.rstrip("0123456789") for p in (flows / "marks").iterdir()}
        seen |= {p.name for p in (flows / "marks").iterdir()}
        if names <= seen or proc.poll() is not None:
            return
        time.sleep(0.05)
    raise AssertionError(f"steps {sorted(names)} never started")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr after the line saying which configuration is used."""
    out, err = proc.communicate(timeout=60)  # a hang fails here, not in an assertion on time
    return proc.returncode, out, _after_config_line(err)


def _after_config_line(err: str) -> str:
    first, _, rest = err.partition("\n")
    if first.startswith(("using configuration ", "no configuration file")):
        return rest
    return err


def survivors(before: set[int]) -> set[int]:
    """The processes of ``before`` still running, after giving them a moment to end."""
    for _ in range(50):
        left = {pid for pid in before if alive(pid)}
        if not left:
            return left
        time.sleep(0.1)
    return left


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:  # a failed test must not leave its run behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_with_one_line_and_leaves_no_process(
    flows: Path, processes: list[subprocess.Popen[str]], sig: signal.Signals, code: int
) -> None:
    proc = start(flows)
    processes.append(proc)
    wait_for_marks(flows, proc, {"nap", "thread", "process"})
    tree = descendants(proc.pid)
    assert tree, "the run should have started a worker process"
    proc.send_signal(sig)
    returncode, out, err = finish(proc)
    assert returncode == code, err
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"interrupted by {sig.name}: workflow 'busy' stopped; 1 of 6 steps")
    assert "(first)" in line
    assert "1 blocking call(s) still running in threads were abandoned" in line
    assert survivors(tree) == set()


def test_a_signal_ignored_by_the_parent_stays_ignored(
    flows: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """A shell starts background jobs with SIGINT ignored; Ctrl-C meant for it must not
    stop them, as it does not stop any other well-behaved program."""
    full = {k: v for k, v in os.environ.items() if k != "HYBRID_CORE_PLUGINS"}
    full.update(PYTHONPATH=str(flows), MARKS=str(flows / "marks"))
    # An ignored signal stays ignored across exec, as a shell's background job has it.
    command = [*hybrid_executable(), "run", "sig_flows:busy", "-i", "x=1"]
    ignore_then_exec = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ignore_then_exec, *command],
        cwd=flows, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.append(proc)
    wait_for_marks(flows, proc, {"nap", "thread", "process"})
    proc.send_signal(signal.SIGINT)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=1.5)  # still running: the ignored signal changed nothing
    proc.send_signal(signal.SIGTERM)
    returncode, _, err = finish(proc)
    assert returncode == 143, err
    assert err.startswith("interrupted by SIGTERM")


def test_with_json_the_partial_result_is_printed(
    flows: Path, processes: list[subprocess.Popen[str]]
) -> None:
    proc = start(flows, "--json")
    processes.append(proc)
    wait_for_marks(flows, proc, {"nap", "thread", "process"})
    proc.send_signal(signal.SIGINT)
    returncode, out, err = finish(proc)
    assert returncode == 130
    result = json.loads(out)
    assert result["status"] == "cancelled"
    assert result["steps"]["first"]["status"] == "succeeded"
    assert len(err.splitlines()) == 1


def test_a_thread_call_that_ends_within_the_grace_is_not_abandoned(
    flows: Path, processes: list[subprocess.Popen[str]]
) -> None:
    proc = start(flows, env={"THREAD_SLEEP": "0.5"})
    processes.append(proc)
    wait_for_marks(flows, proc, {"nap", "thread", "process"})
    proc.send_signal(signal.SIGINT)
    returncode, _, err = finish(proc)
    assert returncode == 130
    (line,) = err.splitlines()
    assert "abandoned" not in line


def test_a_second_signal_stops_at_once(flows: Path, processes: list[subprocess.Popen[str]]) -> None:
    # A thread call that never ends keeps the first interrupt waiting for its grace.
    proc = start(flows)
    processes.append(proc)
    wait_for_marks(flows, proc, {"nap", "thread", "process"})
    tree = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    returncode, _, err = finish(proc)
    assert returncode == 130
    assert err.splitlines()[-1] in (
        "SIGINT again: stopped at once",
        # The first interrupt may have finished before the second arrived.
        *[ln for ln in err.splitlines() if ln.startswith("interrupted by SIGINT")],
    )
    assert survivors(tree) == set()


SLOW_PLUGIN = "import time\ntime.sleep(60)\n"


@pytest.mark.parametrize(("sig", "code", "word"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated"),
])  # fmt: skip
def test_outside_a_run_a_signal_is_one_line_too(
    tmp_path: Path, processes: list[subprocess.Popen[str]], sig: signal.Signals, code: int,
    word: str,
) -> None:  # fmt: skip
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    info = tmp_path / "slow_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\nslow = slow_plugin\n")
    env = {k: v for k, v in os.environ.items() if k != "HYBRID_CORE_PLUGINS"}
    env["PYTHONPATH"] = str(tmp_path)
    proc = subprocess.Popen(
        [*hybrid_executable(), "plugins"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(proc)
    time.sleep(2)  # let it reach the plugin's import; an earlier signal is fine too
    proc.send_signal(sig)
    returncode, out, err = finish(proc)
    assert (returncode, out, err) == (code, "", f"{word}\n")
