"""A LocalCluster started on first use: a workflow of process steps and a map runs on
it, and closing the system leaves no process, thread or listening port behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hybrid_core import Call, Hybrid

sys.path.insert(0, str(Path(__file__).parent))
import dask_flows
from dask_support import children, listening_ports, threads, wait_for


def test_a_local_cluster_runs_process_steps_and_a_map_then_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    before_threads, before_ports = threads(), listening_ports()
    before_children = children()
    config = {"executor": {"name": "dask", "dask": {"n_workers": 2}},
              "plugins": {"only": ["dask"]}}  # fmt: skip
    with Hybrid(config, plugins=[dask_flows.Flows()]) as system:
        assert type(system.executor).__name__ == "DaskExecutor"
        result = system.run("chain", n=12)
        assert result.ok, result.error
        assert result.value == sum(x * x for x in range(12))
        where = result.results["where"]
        assert where != os.getpid()  # the process step ran in a worker, not here
        workers = children() - before_children
        assert where in workers
        ran = (tmp_path / "log").read_text().split("\n")
        pids = {int(line.split()[2]) for line in ran if line.startswith("done")}
        assert pids <= workers and pids  # map elements ran on the workers
        info = system._sync(system.executor.describe)  # type: ignore[attr-defined]
        assert info["workers"] == 2 and info["address"].startswith("tcp://127.0.0.1:")
    assert wait_for(lambda: not (children() - before_children), 15), children()
    assert threads() <= before_threads, threads() - before_threads
    assert listening_ports() <= before_ports


async def test_the_executor_from_python_keys_each_call_and_refuses_what_cannot_travel() -> None:
    from hybrid_core_dask import DaskExecutor

    executor = DaskExecutor(n_workers=1, processes=False)
    try:
        import threading

        lock = threading.Lock()
        with pytest.raises(TypeError) as caught:
            await executor.asubmit(Call(dask_flows.square, (lock,), key="r1/files[2]/parse#1"))
        message = str(caught.value)
        assert "r1/files[2]/parse#1" in message and "dask_flows.square" in message
        assert "argument 0, lock" in message
        assert executor._client is None  # refused before anything was started or sent
        assert await executor.asubmit(Call(dask_flows.square, (7,), key="r1/a#1")) == 49
        assert await executor.asubmit(Call(dask_flows.square, (7,), key="r1/a#1")) == 49
    finally:
        await executor.aclose()
