"""Workflows the Dask tests run; importable by the workers (the tests put this folder on
their path). Each element body appends ``start``/``done`` lines to ``DASK_LOG`` with its
process id, which is how a test sees what ran where, and how often."""

from __future__ import annotations

import os
import time
from typing import Any

import hybrid_core as hc


def _log(line: str) -> None:
    path = os.environ.get("DASK_LOG")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line} {os.getpid()} {time.time():.6f}\n".encode())
    finally:
        os.close(fd)


def numbers(n: int) -> list[int]:
    return list(range(int(n)))  # the command line passes text


def square(x: int, pause: float = 0.0) -> int:
    _log(f"start {x}")
    time.sleep(pause)
    _log(f"done {x}")
    return x * x


def total(values: list[int]) -> int:
    return sum(values)


def pid() -> int:
    return os.getpid()


def slow_cpu(payload: dict[str, Any]) -> int:
    """An engine handler needing one ``cpu``: logs when it starts and stops."""
    _log(f"start {payload['x']}")
    time.sleep(payload.get("pause", 0.2))
    _log(f"done {payload['x']}")
    return int(payload["x"]) + 1


def chain(n: int = 12, pause: float = 0.05) -> hc.Workflow:
    """A process step, a map of blocking calls, and a process step after it."""
    wf = hc.Workflow("chain", inputs=["n"])
    wf.step("numbers", numbers, n=hc.input("n"), blocking="process")
    wf.map("squares", square, over=hc.result("numbers"), blocking=True, pause=pause,
           concurrency=8)  # fmt: skip
    wf.step("total", total, values=hc.result("squares"), blocking="process")
    wf.step("where", pid, blocking="process", wait_for=["total"])
    return wf.returns("total")


def fanout() -> hc.Workflow:
    """A map whose elements call an engine that needs one ``cpu``."""
    one = hc.Workflow("one", inputs=["x"])
    one.add(hc.capability_step("cpu", "test.cpu", x=hc.input("x")))
    one.returns("cpu")
    wf = hc.Workflow("fanout", inputs=["xs"])
    wf.map("each", one, over=hc.input("xs"), item="x", concurrency=8)
    return wf.returns("each")


class Flows:
    """A plugin giving the workflows above and the ``test.cpu`` engine."""

    name = "flows"

    @hc.hookimpl
    def hybrid_workflows(self) -> list[hc.Workflow]:
        return [chain(), fanout()]

    @hc.hookimpl
    def hybrid_engines(self) -> list[hc.Engine]:
        return [hc.Engine(name="test.cpu", capabilities={"test.cpu": 10}, handler=slow_cpu,
                          process=True, resources={"cpu": 1})]  # fmt: skip
