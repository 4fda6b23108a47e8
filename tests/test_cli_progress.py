"""The live progress display, read from a real terminal (a pty) as a person sees it."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clitools import hybrid_env, hybrid_executable, run_hybrid

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

FLOWS = """
import asyncio
import hybrid_core as hc

one = hc.Workflow("one", inputs=["k"])

async def work(k):
    await asyncio.sleep(0.1)
    return k

one.step("work", work, k=hc.input("k"))
one.returns("work")

wf = hc.Workflow("prog")
wf.step("first", lambda: list(range(30)))
wf.map("each", one, over=hc.result("first"), item="k", concurrency=2)
"""


def read_terminal(cwd: Path, *args: str) -> list[tuple[float, str]]:
    """Run ``hybrid ARGS`` on a pty; return what it wrote, chunk by chunk, with times."""
    import pty

    master, slave = pty.openpty()
    env = hybrid_env({"PYTHONPATH": str(cwd), "HYBRID_CORE_PLUGINS": "", "COLUMNS": "100"})
    proc = subprocess.Popen(
        [*hybrid_executable(), *args], stdin=slave, stdout=slave, stderr=slave,
        cwd=cwd, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks: list[tuple[float, str]] = []
    started = time.monotonic()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the other end closed: the command has ended
                    break
                if not data:
                    break
                chunks.append((time.monotonic() - started, data.decode("utf-8", "replace")))
            elif proc.poll() is not None:
                break
        proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(c for _, c in chunks)
    return chunks


def test_the_display_moves_during_a_map_and_leaves_only_the_summary(tmp_path: Path) -> None:
    (tmp_path / "progflows.py").write_text(FLOWS)
    chunks = read_terminal(tmp_path, "run", "progflows:wf")
    text = "".join(c for _, c in chunks)
    # Every state the line was drawn in (the last erase is followed by the summary).
    shown = re.findall(r"\r\x1b\[2K([^\r]+)", text.rsplit("\r\x1b[2K", 1)[0])
    counts = [int(m[1]) for line in shown if (m := re.search(r"each (\d+)/30", line))]
    # The map's elements count up while the run goes on, drawn on a timer, not only when
    # a top-level step ends (the first state a person would see is not the last).
    assert len(set(counts)) >= 3, shown
    assert counts == sorted(counts)
    assert any(re.search(r"each \d+/30 [\d.]+/s, ~\d+s left", line) for line in shown), shown
    assert all(re.match(r"\[[0-2]/2\] \| ", line) for line in shown), shown
    assert all(len(line) <= 99 for line in shown)
    # The line is erased at the end: what stays is the summary.
    tail = text.rsplit("\r\x1b[2K", 1)[1]
    assert tail.lstrip().startswith("workflow 'prog' succeeded in ")


def test_without_a_terminal_there_is_no_live_line(tmp_path: Path) -> None:
    (tmp_path / "progflows.py").write_text(FLOWS)
    result = run_hybrid("run", "progflows:wf", env={"PYTHONPATH": str(tmp_path),
                                                    "HYBRID_CORE_PLUGINS": ""})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\x1b[2K" not in result.stderr + result.stdout


SLOW_MAP = """
import asyncio
import hybrid_core as hc

one = hc.Workflow("one", inputs=["k"])

async def work(k):
    await asyncio.sleep(0.1)
    if k == "bad":
        raise ValueError("a bad element")
    return k

one.step("work", work, k=hc.input("k"))
one.returns("work")

wf = hc.Workflow("slow", inputs=["n"])
wf.step("first", lambda n: list(range(int(n))), n=hc.input("n"))
wf.map("each", one, over=hc.result("first"), item="k", concurrency=1)
wf.step("last", lambda xs: len(xs), xs=hc.result("each"))

broken = hc.Workflow("broken")
broken.step("first", lambda: ["a", "bad"])
broken.map("each", one, over=hc.result("first"), item="k", concurrency=1)
"""


def run_plain(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """``hybrid run ARGS`` with stderr a pipe, as in CI or ``2> log``."""
    (tmp_path / "slowflows.py").write_text(SLOW_MAP)
    result = run_hybrid(
        "run", *args, env={"PYTHONPATH": str(tmp_path), "HYBRID_CORE_PLUGINS": ""}
    )
    return result.returncode, result.stdout, result.stderr


def test_with_v_and_no_terminal_progress_is_plain_lines(tmp_path: Path) -> None:
    code, out, err = run_plain(tmp_path, "slowflows:wf", "-i", "n=24", "-v")
    assert code == 0, err
    assert "\r" not in err + out and "\x1b" not in err + out
    lines = err.splitlines()
    assert lines[0] == "no configuration file; using the defaults"
    steps = [line for line in lines if line.startswith("[")]
    assert [re.sub(r" in [\d.]+s$", "", line) for line in steps] == [
        "[1/3] first succeeded", "[2/3] each succeeded", "[3/3] last succeeded",
    ]  # fmt: skip
    assert all(re.fullmatch(r"\[\d/3\] \w+ succeeded in \d+\.\d\ds", line) for line in steps)
    # The 24 elements take 2.4 s at least: a line per further tenth done, at most one a
    # second, and none for the last element (the step's own line says it).
    elements = [line for line in lines if line.startswith("each: ")]
    assert 1 <= len(elements) <= 9, err
    assert all(re.fullmatch(r"each: \d+/24 done, [\d.]+/s", line) for line in elements), err
    done = [int(re.search(r"(\d+)/24", line).group(1)) for line in elements]  # type: ignore[union-attr]
    assert done == sorted(set(done)) and all(0 < n < 24 for n in done)
    assert lines.index(elements[-1]) < lines.index(steps[1])
    assert out.startswith("workflow 'slow' succeeded in ")


def test_without_v_a_log_gets_no_progress_and_a_failure_one_error_line(tmp_path: Path) -> None:
    code, _, err = run_plain(tmp_path, "slowflows:wf", "-i", "n=12")
    assert code == 0 and err == "no configuration file; using the defaults\n"
    code, _, err = run_plain(tmp_path, "slowflows:broken")
    _, error = err.splitlines()
    assert code == 1 and error.startswith("error: workflow 'broken' failed at step 'each'")


def test_with_v_a_failure_still_ends_with_its_one_error_line(tmp_path: Path) -> None:
    code, _, err = run_plain(tmp_path, "slowflows:broken", "-v")
    lines = err.splitlines()
    assert code == 1
    assert "[1/2] first succeeded in " in lines[1] and "[2/2] each failed in " in lines[2]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0]


def test_quiet_wins_and_json_stays_machine_readable(tmp_path: Path) -> None:
    code, _, err = run_plain(tmp_path, "slowflows:wf", "-i", "n=12", "-v", "-q")
    assert (code, err) == (0, "")
    code, out, err = run_plain(tmp_path, "slowflows:wf", "-i", "n=12", "-v", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "succeeded"  # progress never reaches stdout
    assert "[3/3] last succeeded in " in err
