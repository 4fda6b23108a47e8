"""Calls submitted together reach the scheduler as one graph per set of placement options,
each with its own key, and each result reaches its own caller."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from hybrid_core import Call

sys.path.insert(0, str(Path(__file__).parent))
import dask_flows


class Graphs:
    """A scheduler plugin that records the keys of every graph the scheduler receives."""

    name = "hybrid-test-graphs"

    def __init__(self) -> None:
        self.seen: list[set[str]] = []

    def update_graph(self, scheduler: Any, *, keys: Any, **kwargs: Any) -> None:
        self.seen.append({str(key) for key in keys})


async def test_calls_submitted_together_go_as_one_graph_each_with_its_key() -> None:
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    from hybrid_core_dask import DaskExecutor

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, resources={"CPU": 1},
        dashboard_address=None, asynchronous=True,
    )  # fmt: skip
    await cluster
    graphs = type("Recorder", (Graphs, SchedulerPlugin), {})()
    cluster.scheduler.add_plugin(graphs)
    executor = DaskExecutor(address=cluster.scheduler_address, resources={"cpu": "CPU"})
    try:
        assert await executor.asubmit(Call(dask_flows.square, (3,), key="connect")) == 9
        graphs.seen.clear()
        plain = [Call(dask_flows.square, (i,), key=f"r1/map[{i}]#1") for i in range(20)]
        got = await asyncio.gather(*(executor.asubmit(call) for call in plain))
        assert got == [i * i for i in range(20)]
        assert len(graphs.seen) == 1 and len(graphs.seen[0]) == 20
        keys = " ".join(graphs.seen[0])
        assert all(f"-r1/map[{i}]#1-" in keys for i in range(20))

        graphs.seen.clear()
        mixed = [
            Call(dask_flows.square, (i,), key=f"r2/m[{i}]#1", resources={"cpu": 1} if i % 2 else {})
            for i in range(6)
        ]  # fmt: skip
        got = await asyncio.gather(*(executor.asubmit(call) for call in mixed))
        assert got == [i * i for i in range(6)]
        assert sorted(len(keys) for keys in graphs.seen) == [3, 3]  # one per placement
    finally:
        await executor.aclose()
        await cluster.close()
