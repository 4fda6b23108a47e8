"""dask.delayed: the workloads as delayed calls, built once, computed once per run.

Each step is a ``dask.delayed`` plain function (``pure=False``); the graph is built once
per workload and each run is one ``dask.compute``, so graph construction is not timed
(in everyday use it is built anew for each computation, which would add to its figures).
Two schedulers: ``synchronous`` (everything in the calling thread, dask's cheapest per
task; the I/O leaves would sleep one after the other, so it runs only chain and fanout)
and ``threads`` (a pool of as many threads as the I/O fan-out has steps; the leaves sleep
with ``time.sleep``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any

import _harness
import dask


def inc(x: int) -> int:
    return x + 1


def ident(x: int) -> int:
    return x


def leaf(x: int, i: int) -> int:
    return x + i


def total(*parts: int) -> int:
    return sum(parts)


def wait(i: int, sleep: float) -> int:
    time.sleep(sleep)
    return i


def graph(workload: str, steps: int, sleep: float) -> tuple[Any, ...]:
    """The delayed objects whose values a run computes."""
    delayed = dask.delayed
    if workload == "chain":
        x: Any = 1
        for _ in range(steps):
            x = delayed(inc, pure=False)(x)
        return (x,)
    if workload == "fanout":
        source = delayed(ident, pure=False)(1)
        parts = [delayed(leaf, pure=False)(source, i) for i in range(steps)]
        return (delayed(total, pure=False)(*parts),)
    return tuple(delayed(wait, pure=False)(i, sleep) for i in range(steps))


def builder(scheduler: str, pool: ThreadPoolExecutor | None) -> Any:
    def build(workload: str, steps: int, sleep: float) -> Any:
        if scheduler == "synchronous" and workload == "io":
            raise _harness.NotRun("the synchronous scheduler would sleep one leaf at a time")
        targets = graph(workload, steps, sleep)
        options = {"scheduler": scheduler, **({"pool": pool} if pool else {})}

        def run() -> Any:
            found = dask.compute(*targets, **options)
            return list(found) if workload == "io" else found[0]

        return run

    return build


def main() -> None:
    given = _harness.plan()
    with ThreadPoolExecutor(max_workers=max(given["sizes"]["io"], 1)) as pool:
        variants = {
            "synchronous": _harness.run_sync(given, builder("synchronous", None)),
            "threads": _harness.run_sync(given, builder("threads", pool)),
        }
    _harness.emit(version("dask"), variants)


if __name__ == "__main__":
    main()
