"""DBOS Transact: the chain as a durable workflow of ``@DBOS.step()`` calls, on SQLite.

DBOS is configured with nothing but a name, a SQLite system database in the scratch
folder (``system_database_url="sqlite:///dbos.sqlite3"``) and log level WARNING; no
Postgres, no Conductor, no OTLP export. DBOS records the workflow's start, each step's
output and the workflow's end in that database, so a run can be recovered. It opens the
file with SQLAlchemy and leaves SQLite's ``journal_mode`` and ``synchronous`` at their
defaults. chain: a ``@DBOS.workflow()`` calling one ``@DBOS.step()`` ``n`` times in a
row; the sync variant uses plain functions, the async one ``async def`` ones (awaited on
one event loop). Each run is one call of the workflow function, under a new workflow id.
Only the chain is run; ``DBOS.launch()`` runs before any timing.
"""

from __future__ import annotations

import sqlite3
from importlib.metadata import version
from typing import Any

import _harness
from dbos import DBOS

FILE = "dbos.sqlite3"


@DBOS.step()
def inc(x: int) -> int:
    return x + 1


@DBOS.workflow()
def chain(steps: int) -> int:
    x = 1
    for _ in range(steps):
        x = inc(x)
    return x


@DBOS.step()
async def ainc(x: int) -> int:
    return x + 1


@DBOS.workflow()
async def achain(steps: int) -> int:
    x = 1
    for _ in range(steps):
        x = await ainc(x)
    return x


def build_sync(workload: str, steps: int, sleep: float) -> Any:
    if workload != "chain":
        raise _harness.NotRun("only the chain is measured")
    return lambda: chain(steps)


async def build_async(workload: str, steps: int, sleep: float) -> Any:
    if workload != "chain":
        raise _harness.NotRun("only the chain is measured")

    async def run() -> int:
        return await achain(steps)

    return run


def settings() -> dict[str, Any]:
    """SQLite's settings for the system database: the file's journal mode (it persists in
    the file) and the library's default ``synchronous`` (DBOS sets none)."""
    with sqlite3.connect(FILE) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        level = conn.execute("PRAGMA synchronous").fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {"journal_mode": mode, "synchronous": names.get(level, str(level)),
            "sqlite": sqlite3.sqlite_version}  # fmt: skip


def main() -> None:
    given = _harness.plan()
    DBOS(
        config={
            "name": "bench-journal",
            "system_database_url": f"sqlite:///{FILE}",
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    try:
        variants = {
            "sync": _harness.run_sync(given, build_sync),
            "async": _harness.run_async(given, build_async),
        }
    finally:
        DBOS.destroy()
    _harness.emit(version("dbos"), variants, settings())


if __name__ == "__main__":
    main()
