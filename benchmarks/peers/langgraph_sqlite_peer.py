"""LangGraph with a durable checkpointer: the chain saved to a SQLite file at every step.

The graph is the chain of ``langgraph_peer`` (nodes ``s0`` .. ``s{n-1}`` in a line, each
adding 1 to ``x``; sync nodes, one ``graph.invoke`` per run), compiled with a
``SqliteSaver`` on a file in the scratch folder, so LangGraph writes a checkpoint after
each step. ``SqliteSaver`` is the synchronous saver: it opens the file the way its
documentation shows (``sqlite3.connect(path, check_same_thread=False)``), sets WAL itself
and leaves ``synchronous`` at SQLite's default. Each run is a new thread (a fresh
``thread_id``), so no run continues an earlier one. Two variants: ``durability="sync"``
(each checkpoint is written before the next step starts) and LangGraph's default
``durability="async"`` (written while the next step runs). Only the chain is run.
"""

from __future__ import annotations

import sqlite3
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import _harness
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph_peer import graph

FILE = Path("checkpoints.sqlite3")


def builder(saver: SqliteSaver, durability: str) -> _harness.Build:
    def build(workload: str, steps: int, sleep: float) -> Any:
        if workload != "chain":
            raise _harness.NotRun("only the chain is measured with a checkpointer")
        compiled, read = graph(workload, steps, sleep, is_async=False, checkpointer=saver)

        def run() -> Any:
            thread = {"thread_id": uuid.uuid4().hex}
            config = {"configurable": thread, "recursion_limit": steps + 10}
            return read(compiled.invoke({"x": 1, "parts": []}, config, durability=durability))

        return run

    return build


def settings(conn: sqlite3.Connection) -> dict[str, Any]:
    """The SQLite settings the saver's connection ended up with."""
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {
        "journal_mode": mode,
        "synchronous": names.get(level, str(level)),
        "checkpoints": conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0],
        "sqlite": sqlite3.sqlite_version,
    }


def main() -> None:
    given = _harness.plan()
    conn = sqlite3.connect(FILE, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        variants = {
            "sync": _harness.run_sync(given, builder(saver, "sync")),
            "async": _harness.run_sync(given, builder(saver, "async")),
        }
        found = settings(conn)
    finally:
        conn.close()
    found["langgraph-checkpoint-sqlite"] = version("langgraph-checkpoint-sqlite")
    _harness.emit(version("langgraph"), variants, found)


if __name__ == "__main__":
    main()
