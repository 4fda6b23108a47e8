"""A real cluster: ``dask scheduler`` and ``dask worker`` subprocesses on 127.0.0.1.

The review runs through them; a worker SIGKILLed in the middle of a map loses no
element; resources keep one call per worker; an unreachable scheduler stops the start
with one line; a scheduler that dies mid-run fails the run, keeping what completed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dask_flows
import pytest
from dask_support import BIN, Cluster, free_port, wait_for
from hybrid_core import Hybrid

REPO = Path(__file__).resolve().parents[3]
FIXTURE = {
    "pkg/__init__.py": "from .a import f\n",
    "pkg/a.py": "import os\n\ndef f(x):\n    if x:\n        return os.sep\n    return None\n",
    "pkg/b.py": "from pkg import a\nunused = 1\n\ndef g(y):\n    for i in y:\n        print(i)\n",
    "tool.py": "import sys\nimport json\n\nprint(sys.argv)\n",
}


def _tree(root: Path) -> Path:
    for name, text in FIXTURE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _hybrid(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hybrid"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def _report(folder: Path) -> dict[str, object]:
    data = json.loads((folder / "report.json").read_text())
    return _without_timings(data)


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if k not in {"duration", "seconds", "started", "run", "elapsed"}}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_the_review_runs_on_the_cluster_and_writes_the_local_report(
    cluster: Cluster, tmp_path: Path
) -> None:
    tree = _tree(tmp_path / "tree")
    config = REPO / "examples" / "review" / "hybrid.toml"
    env_address = {"HYBRID_DASK_ADDRESS": cluster.address}
    os.environ.update(env_address)
    try:
        local = _hybrid("run", "review", "--config", str(config), "--no-journal",
                        "--input", f"path={tree}", "--input", f"out={tmp_path / 'local'}",
                        cwd=tmp_path)  # fmt: skip
        dask = _hybrid("run", "review", "--config", str(config), "--profile", "dask",
                       "--no-journal", "--input", f"path={tree}",
                       "--input", f"out={tmp_path / 'dask'}", cwd=tmp_path)  # fmt: skip
    finally:
        os.environ.pop("HYBRID_DASK_ADDRESS")
    assert local.returncode == 0, local.stderr
    assert dask.returncode == 0, dask.stderr
    assert _report(tmp_path / "dask") == _report(tmp_path / "local")


def _events(log: Path) -> list[tuple[str, int, int, float]]:
    rows = []
    for line in log.read_text().splitlines():
        what, x, pid, at = line.split()
        rows.append((what, int(x), int(pid), float(at)))
    return rows


def test_a_worker_killed_mid_map_loses_no_element_and_reruns_none_that_completed(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"  # the workers log there (the fixture set DASK_LOG)
    victim = cluster.workers[0]
    config = {"executor": {"name": "dask", "dask": {"address": cluster.address}},
              "plugins": {"only": ["dask"]}}  # fmt: skip
    with Hybrid(config, plugins=[dask_flows.Flows()]) as system:
        killed: list[float] = []
        # When each element's result reached the driver: one that finished on the victim
        # but had not been fetched yet when it died is lost with it, and rightly runs again.
        arrived: dict[int, float] = {}
        executor = system.executor
        submit = executor.asubmit

        async def recording(call: Any) -> Any:
            value = await submit(call)
            found = re.search(r"\[(\d+)\]", call.key or "")
            if found:
                arrived[int(found.group(1))] = time.time()
            return value

        executor.asubmit = recording  # type: ignore[method-assign]

        def kill_when_half_done() -> None:
            def done() -> int:
                return sum(1 for r in _events(log) if r[0] == "done") if log.exists() else 0

            wait_for(lambda: done() >= 8, 60)
            killed.append(time.time())
            os.kill(victim.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_half_done)
        killer.start()
        result = system.run(dask_flows.chain(pause=0.25), n=24)
        killer.join()
    assert result.ok, result.error
    assert result.results["squares"] == [x * x for x in range(24)]
    rows = _events(log)
    assert any(pid == victim.pid for _, _, pid, _ in rows)  # the victim did take work
    delivered = {x for x, at in arrived.items() if at < killed[0]}
    started_after = Counter(x for what, x, _, at in rows if what == "start" and at > killed[0])
    assert delivered and not (delivered & set(started_after)), (delivered, started_after)


def test_resources_keep_one_call_per_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    log = tmp_path / "log"
    monkeypatch.setenv("DASK_LOG", str(log))
    found = Cluster(tmp_path)
    try:
        # Two threads per worker, one unit of cpu: only the resource can keep them apart.
        found.start(workers=2, resources="cpu=1", nthreads=2)
        config = {"executor": {"name": "dask", "dask": {"address": found.address,
                                                        "resources": {"cpu": "cpu"}}},
                  "resources": {"cpu": 8}, "plugins": {"only": ["dask"]}}  # fmt: skip
        with Hybrid(config, plugins=[dask_flows.Flows()]) as system:
            result = system.run("fanout", xs=list(range(8)))
        assert result.ok, result.error
        assert result.value == [x + 1 for x in range(8)]
    finally:
        found.stop()
    running: dict[int, int] = Counter()
    for what, _, pid, _ in sorted(_events(log), key=lambda r: (r[3], r[0] == "start")):
        running[pid] += 1 if what == "start" else -1
        assert running[pid] <= 1, "a worker ran two cpu calls at once"
    assert len(running) == 2


def test_an_unreachable_scheduler_stops_the_run_with_one_line(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    config = tmp_path / "hybrid.toml"
    config.write_text(f'[executor]\nname = "dask"\n[executor.dask]\naddress = "{address}"\n'
                      "connect_timeout = 1\n")  # fmt: skip
    done = _hybrid("run", "review", "-q", "--config", str(config), "--no-journal", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and lines[0].startswith("error:"), lines


def test_a_scheduler_dying_mid_run_fails_the_run_and_keeps_what_completed(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    flows = tmp_path / "flows.toml"
    flows.write_text(
        '[executor]\nname = "dask"\n[executor.dask]\n'
        f'address = "{cluster.address}"\nconnect_timeout = 2\n'
        '[plugins]\nonly = ["dask"]\n'
        '[workflows.chain]\ninputs = ["n"]\nreturns = "squares"\n'
        '[workflows.chain.steps.numbers]\ncall = "dask_flows:numbers"\n'
        'args = { n = { input = "n" } }\nblocking = "process"\n'
        '[workflows.chain.steps.squares]\nmap = "dask_flows:square"\n'
        'over = { result = "numbers" }\nblocking = true\nconcurrency = 2\n'
        "args = { pause = 0.3 }\n"
    )  # fmt: skip
    run = subprocess.Popen(
        [str(BIN / "hybrid"), "run", "chain", "--config", str(flows), "--input", "n=40"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )  # fmt: skip
    try:
        ok = wait_for(lambda: log.exists() and log.read_text().count("done") >= 4, 60)
        assert ok, run.communicate(timeout=5) if run.poll() is not None else "still running"
        assert cluster.scheduler is not None
        os.killpg(cluster.scheduler.pid, signal.SIGKILL)
        _, err = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1, err
    assert "scheduler" in err and cluster.address in err, err
    runs = _hybrid("runs", "--config", str(flows), "--json", cwd=tmp_path)
    (journaled,) = json.loads(runs.stdout)["runs"]
    shown = _hybrid("runs", "show", journaled["id"], "--config", str(flows), "--json",
                    cwd=tmp_path)  # fmt: skip
    detail = json.loads(shown.stdout)
    text = json.dumps(detail)
    assert "numbers" in text and "squares[0]" in text, text[:2000]
    assert journaled["status"] == "failed"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
