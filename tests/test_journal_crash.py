"""SIGKILL a journaled run at many points, resume it, and count what ran twice.

Each kill is a real ``kill -9`` of a real ``hybrid run`` process; the resume is a real
``hybrid resume`` in a new process. A step body appends its structural path to a
fsynced log, so the test counts executions across the kill and the resume. For every
kill point: the resumed run ends as an uninterrupted run does, and every body (and
compensation, and undo) whose outcome the journal held at the moment of the kill ran
exactly once in all. Kills land inside chain steps, map fan-outs, compensations and
undos (``CRASH_FAIL`` makes the last step fail, so the run rolls back).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from clitools import hybrid_env, hybrid_executable

HERE = Path(__file__).resolve().parent
KILLS = int(os.environ.get("HYBRID_CRASH_KILLS", "50"))
SPEC = "journal_flows:flow"


def _env(log: Path, fail: bool) -> dict[str, str]:
    env = {"PYTHONPATH": str(HERE), "CRASH_LOG": str(log)}
    if fail:
        env["CRASH_FAIL"] = "1"
    return hybrid_env(env)


def _start(folder: Path, fail: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*hybrid_executable(), "run", SPEC, "-i", "n:=4", "-q", "--journal", "j.sqlite3"],
        cwd=folder,
        env=_env(folder / "log", fail),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hybrid(folder: Path, fail: bool, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hybrid_executable(), *args, "--journal", "j.sqlite3"],
        cwd=folder,
        env=_env(folder / "log", fail),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _journal_state(folder: Path) -> tuple[str | None, str | None, set[str], set[str]]:
    """(run id, run status, paths whose outcome is in effect, paths undone) right now."""
    path = folder / "j.sqlite3"
    if not path.exists():
        return None, None, set(), set()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        run = con.execute("SELECT id, status, key FROM runs").fetchone()
        if run is None:
            return None, None, set(), set()
        effect: set[str] = set()
        undone: set[str] = set()
        for p, state in con.execute(
            "SELECT path, state FROM events WHERE run = ? ORDER BY seq", (run[2],)
        ):
            if state in ("succeeded", "compensated"):
                effect.add(p)
            elif state in ("undone", "undo_failed"):
                effect.discard(p)
                undone.add(p)
            elif state in ("failed", "cancelled", "halted"):
                effect.discard(p)
        return run[0], run[1], effect, undone
    except sqlite3.OperationalError:  # the schema was not written yet
        return None, None, set(), set()
    finally:
        con.close()


def _final(folder: Path, fail: bool, run_id: str) -> dict[str, Any]:
    shown = _hybrid(folder, fail, "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    steps = {s["path"]: s["status"] for s in data["steps"] if "[" not in s["path"]}
    elements = sorted(s["status"] for s in data["steps"] if "/" in s["path"])
    return {"status": data["status"], "result": data["result"], "steps": steps, "el": elements}


def _log(folder: Path) -> Counter[str]:
    log = folder / "log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


def _reference(tmp: Path, fail: bool) -> tuple[dict[str, Any], float]:
    """The uninterrupted run's final state (and the bodies it ran), and how long it took."""
    folder = tmp / f"ref-{fail}"
    folder.mkdir()
    began = time.monotonic()
    proc = _start(folder, fail)
    _, err = proc.communicate(timeout=120)
    took = time.monotonic() - began
    assert proc.returncode == (1 if fail else 0), err
    run_id, _, _, _ = _journal_state(folder)
    assert run_id is not None
    final = _final(folder, fail, run_id)
    final["bodies"] = sorted(_log(folder))
    return final, took


def _wait_for_lines(folder: Path, proc: subprocess.Popen[str], lines: int) -> None:
    """Until the log has ``lines`` lines (the run got that far) or the process ended."""
    log = folder / "log"
    while proc.poll() is None:
        have = len(log.read_text().split()) if log.exists() else 0
        if have >= lines:
            return
        time.sleep(0.002)


def _one_kill(
    tmp: Path, k: int, point: tuple[int, float], fail: bool, ref: dict[str, Any]
) -> tuple[str, int]:
    """Kill the run ``point[1]`` seconds after its ``point[0]``-th body, then resume it;
    return the phase the kill landed in and how many journaled bodies were counted."""
    lines, delay = point
    folder = tmp / f"kill-{k}"
    folder.mkdir()
    proc = _start(folder, fail)
    _wait_for_lines(folder, proc, lines)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = _log(folder)
    run_id, status, effect, undone = _journal_state(folder)
    last = (folder / "log").read_text().split()[-1] if before else ""
    phase = (
        "none" if run_id is None else
        "undo" if last.startswith("undo:") else
        "compensate" if last.startswith("compensate:") or last == "flaky" else
        "map" if last.startswith("each[") else
        "chain" if last else "start"
    )  # fmt: skip
    if run_id is None:
        return phase, 0  # killed before the run was journaled: there is nothing to resume
    resumed = _hybrid(folder, fail, "resume", run_id, "-q")
    assert resumed.returncode == (1 if fail else 0), (k, point, resumed.stderr)
    after = _log(folder)
    final = _final(folder, fail, run_id)
    final["bodies"] = sorted(after)
    assert final == ref, (k, point, phase)
    checked = effect & set(ref["bodies"])
    for path in checked:
        assert after[path] == 1, (k, point, phase, path, before, after)
    if status in ("running", "rolling_back"):
        for path in undone:
            if f"undo:{path}" in ref["bodies"]:  # a map step's undo is its elements' undos
                assert after[f"undo:{path}"] == 1, (k, point, phase, path, after)
        if "flaky" in effect:
            assert after["compensate:flaky"] == 1, (k, point, after)
    for line, count in after.items():
        assert count <= 2, (k, point, line, after)  # at most the interrupted attempt again
    return phase, len(checked)


def test_sigkill_at_many_points_then_resume(tmp_path: Path) -> None:
    refs = {fail: _reference(tmp_path, fail) for fail in (False, True)}
    rng = random.Random(20261202)
    plan = []
    for k in range(KILLS):
        fail = k % 2 == 1
        bodies = sum(1 for _ in refs[fail][0]["bodies"])
        # After a random number of bodies (none: while the process starts), plus a few
        # milliseconds: inside a body, between two, or while a commit is being written.
        point = (rng.randrange(0, bodies + 1), rng.uniform(0.0, 0.04))
        plan.append((k, point, fail))
    with ThreadPoolExecutor(max_workers=2) as pool:
        phases = list(
            pool.map(lambda p: _one_kill(tmp_path, p[0], p[1], p[2], refs[p[2]][0]), plan)
        )
    seen = Counter(phase for phase, _ in phases)
    checked = sum(n for _, n in phases)
    print(f"kill points by phase: {dict(sorted(seen.items()))}; {checked} bodies checked")
    # The journal was read for real: bodies it held at the kills were counted.
    assert checked >= KILLS, checked
    resumed = KILLS - seen["none"]
    assert resumed >= KILLS * 0.6, seen
    for phase in ("map", "compensate", "undo"):
        assert seen[phase] >= 1, seen
