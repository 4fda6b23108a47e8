"""The peer environment: the tools hybrid_core is compared with, kept out of its interpreter.

``benchmarks/.peers-venv`` is a virtual environment holding the versions pinned in
``requirements.txt``. :func:`environment` creates it on first use and reuses it after,
re-creating it when the pinned requirements change. :func:`run_peer` runs one peer's script
(``<name>_peer.py`` in this folder) in a subprocess of that environment, from a scratch
folder and in a process group of its own (so a timeout stops whatever the peer started),
and returns the figures the script printed as JSON. :data:`PEERS` lists the rows the
scripts give and :data:`NOTES` how each tool is run, for the workflow suite;
:data:`DURABLE_PEERS` and :data:`DURABLE_NOTES` the same for the journal suite's peers,
which save every step of a run to SQLite. Nothing here imports a peer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".peers-venv"
REQUIREMENTS = HERE / "requirements.txt"
STAMP = VENV / "requirements.sha256"
SETUP_TIMEOUT = 900.0

# What would make the peers' interpreter import something other than its own packages.
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")


@dataclass(frozen=True)
class Peer:
    """One row of the table: one variant of one peer script."""

    script: str  # benchmarks/peers/<script>_peer.py
    variant: str  # its key in the script's output
    label: str  # the row's label; {v} is the version


PEERS = (
    Peer("hamilton", "sync", "Hamilton {v}, sync driver"),
    Peer("hamilton", "async", "Hamilton {v}, async driver"),
    Peer("langgraph", "async", "LangGraph {v}, async nodes, `ainvoke`"),
    Peer("langgraph", "sync", "LangGraph {v}, sync nodes, `invoke`"),
    Peer("dask", "synchronous", "dask {v} `delayed`, synchronous scheduler"),
    Peer("dask", "threads", "dask {v} `delayed`, threaded scheduler"),
    Peer("prefect", "local", "Prefect {v}, local, ephemeral API"),
)
NOTES = {
    "hamilton": "Hamilton: one function per step in a module generated from source "
    "(`ad_hoc_utils.module_from_source`), the driver built once with `Builder`, one "
    "`execute` per run; the sync driver runs plain functions one after the other (its I/O "
    "leaves `time.sleep`), the async driver `async def` ones. Its usage telemetry is off.",
    "langgraph": "LangGraph: a `StateGraph` with a node per step, compiled once; the fan-out "
    "has edges from the source to every leaf, whose results meet in a list channel with an "
    "`operator.add` reducer, and one edge from all the leaves to the sink. The recursion "
    "limit is raised to fit the chain. `invoke` runs parallel sync nodes in a thread pool "
    "(its I/O leaves `time.sleep`).",
    "dask": "dask: `dask.delayed` plain functions, the graph built once and not timed "
    "(everyday use builds it anew per computation), one `dask.compute` per run. The "
    "synchronous scheduler runs everything in the calling thread and would sleep the I/O "
    "leaves one after the other, so it has no I/O figure; the threaded scheduler gets a pool "
    "of 100 threads (its I/O leaves `time.sleep`).",
    "prefect": "Prefect: `@task`s called in a `@flow`, `.submit` for the fan-out's leaves; "
    "the I/O leaves are async tasks gathered in an async flow. It runs with no server set up: "
    "no API URL, so its ephemeral mode starts a temporary local API on a throwaway SQLite "
    "database (started before any timing); log level WARNING. Prefect spends milliseconds "
    "per task, so its chain and fan-out are scaled down (the sizes are in its row's label, "
    "and us/step is per step at that size); the I/O fan-out keeps its 100 steps. Its time per "
    "task also drifts while the temporary API works through earlier runs' events (from about "
    "20 to about 65 ms per chained task between trials on this machine).",
}


DURABLE_PEERS = (
    Peer("langgraph_sqlite", "sync", 'LangGraph {v}, `SqliteSaver`, `durability="sync"`'),
    Peer("langgraph_sqlite", "async", 'LangGraph {v}, `SqliteSaver`, `durability="async"`'),
    Peer("dbos", "sync", "DBOS {v}, SQLite system database, sync steps"),
    Peer("dbos", "async", "DBOS {v}, SQLite system database, async steps"),
)
DURABLE_NOTES = {
    "langgraph_sqlite": "LangGraph: the workflow suite's chain graph (sync nodes, one "
    "`invoke` per run, a new `thread_id` each run) compiled with a `SqliteSaver` "
    "(langgraph-checkpoint-sqlite {langgraph-checkpoint-sqlite}) on a file opened with "
    "`sqlite3.connect(path, check_same_thread=False)`; the saver writes a checkpoint per "
    "step ({per_run} checkpoints per run). SQLite as it left it: journal mode "
    "{journal_mode}, synchronous={synchronous} (SQLite {sqlite}). "
    '`durability="sync"` writes each checkpoint before the next step starts, LangGraph\'s '
    'default `"async"` while the next step runs.',
    "dbos": "DBOS: a `@DBOS.workflow()` calling a `@DBOS.step()` once per step, configured "
    "with only a name, a SQLite system database file and log level WARNING (no Postgres, "
    "Conductor or OTLP export), launched before any timing; each run is one workflow call "
    "under a new workflow id. SQLite as DBOS left it: journal mode {journal_mode}, "
    "synchronous={synchronous} (SQLite {sqlite}).",
}


def pinned_versions() -> dict[str, str]:
    """``requirements.txt``'s pins, by script name (sf-hamilton is hamilton)."""
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, _, pin = line.partition("==")
        if pin and not line.startswith("#"):
            found[name.strip().removeprefix("sf-")] = pin.strip()
    return found


class PeerError(RuntimeError):
    """A peer could not be measured; the message says why, in a few words."""


def python() -> Path:
    """The peer environment's interpreter."""
    folder = "Scripts" if os.name == "nt" else "bin"
    return VENV / folder / ("python.exe" if os.name == "nt" else "python")


def _digest() -> str:
    """A hash of the requirements themselves, so that editing a comment rebuilds nothing."""
    lines = (line.strip() for line in REQUIREMENTS.read_text().splitlines())
    pins = sorted(line for line in lines if line and not line.startswith("#"))
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def environment() -> Path:
    """The peer environment's interpreter, creating the environment if it is missing or
    stale; raises PeerError (with pip's last words) when it cannot be created."""
    if python().exists() and STAMP.exists() and STAMP.read_text().strip() == _digest():
        return python()
    print(f"creating the peer environment {VENV} (once; a minute or two)", file=sys.stderr)
    shutil.rmtree(VENV, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(VENV)],
        # Short network timeouts: with no network, say so in a minute, not in an hour.
        [str(python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--timeout", "60", "--retries", "2", "-r", str(REQUIREMENTS)],
    )  # fmt: skip
    for command in steps:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=_env(),
                timeout=SETUP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(VENV, ignore_errors=True)
            raise PeerError(
                f"creating the peer environment took over {SETUP_TIMEOUT:.0f} s"
            ) from None
        if done.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            raise PeerError(f"could not create the peer environment: {_last_line(done.stderr)}")
    STAMP.write_text(_digest())
    return python()


def run_peer(interpreter: Path, name: str, plan: Mapping[str, Any], timeout: float) -> Any:
    """Run ``<name>_peer.py`` with ``plan``; return its parsed JSON, or raise PeerError."""
    command = [str(interpreter), str(HERE / f"{name}_peer.py"), json.dumps(plan)]
    with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as scratch:
        process = subprocess.Popen(
            command,
            cwd=scratch,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise PeerError(f"timed out after {timeout:.0f} s") from None
    for line in reversed(out.splitlines()):
        if line.startswith('{"version"'):
            return json.loads(line)
    raise PeerError(f"exited with status {process.returncode}: {_last_line(err)}")


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop a peer that ran out of time, and every process it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError):  # no process groups here, or already gone
        process.kill()
    process.communicate()
