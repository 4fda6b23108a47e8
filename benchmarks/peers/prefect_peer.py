"""Prefect 3, local, with no server to set up: the workloads as tasks in a flow.

Nothing points Prefect at an API (``PREFECT_API_URL`` is removed from the environment),
so it runs in its ephemeral mode: the first flow run starts a temporary local API on a
throwaway SQLite database under a temporary ``PREFECT_HOME``, outside the timed runs
(it is given up to 120 s to start). The server's analytics are off and the log level is
WARNING, which spares it a log line per task run. chain: a flow calling a task ``n``
times in a row; fanout: a ``source`` task, ``n`` ``leaf.submit`` calls (the default
``ThreadPoolTaskRunner``), and a ``sink`` task given the futures; io: an async flow
gathering ``n`` async task calls, each awaiting ``asyncio.sleep`` (faster here than
``.submit`` to a thread per task). Each run is one flow call; one small flow runs first,
to start the temporary API before any timing.
"""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="prefect-peer-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
os.environ.update(
    PREFECT_HOME=_HOME,
    PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
    PREFECT_LOGGING_LEVEL="WARNING",
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    # Its default 20 s is not always enough for the first start on a busy machine.
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
)

import asyncio  # noqa: E402
import shutil  # noqa: E402
from importlib.metadata import version  # noqa: E402
from typing import Any  # noqa: E402

import _harness  # noqa: E402
from prefect import flow, task  # noqa: E402


@task
def inc(x: int) -> int:
    return x + 1


@task
def source(x: int) -> int:
    return x


@task
def leaf(x: int, i: int) -> int:
    return x + i


@task
def sink(parts: list[int]) -> int:
    return sum(parts)


@flow
def chain(steps: int) -> int:
    x = 1
    for _ in range(steps):
        x = inc(x)
    return x


@flow
def fanout(steps: int) -> int:
    x = source.submit(1)
    parts = [leaf.submit(x, i) for i in range(steps)]
    return sink(parts)


def io_flow(steps: int, sleep: float) -> Any:
    @task
    async def wait(i: int) -> int:
        await asyncio.sleep(sleep)
        return i

    @flow
    async def io() -> list[int]:
        return list(await asyncio.gather(*(wait(i) for i in range(steps))))

    return lambda: asyncio.run(io())


def build(workload: str, steps: int, sleep: float) -> Any:
    if workload == "chain":
        return lambda: chain(steps)
    if workload == "fanout":
        return lambda: fanout(steps)
    return io_flow(steps, sleep)


def main() -> None:
    given = _harness.plan()
    try:
        chain(1)  # starts the temporary API
        variants = {"local": _harness.run_sync(given, build)}
    finally:
        shutil.rmtree(_HOME, ignore_errors=True)
    _harness.emit(version("prefect"), variants)


if __name__ == "__main__":
    main()
