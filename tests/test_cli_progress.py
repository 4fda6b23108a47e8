"""The live progress display, read from a real terminal (a pty) as a person sees it."""

from __future__ import annotations

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
