"""Durable runs: what journaling every step costs, against SQLite's own floor and the peers.

The floor is what any durable runner built on SQLite pays at least: stdlib ``sqlite3`` on a
file in WAL mode, one committed row per step (an ``INSERT`` of the run, the step's index,
name, status and JSON result, then ``commit()``), 200 steps in a row, with
``synchronous=NORMAL`` (what committed survives a killed process) and with
``synchronous=FULL`` (it survives a power loss too, at an ``fsync`` per commit). hybrid_core
runs the workflow suite's workloads at 200 steps: the *chain* (each step takes the result
of the one before) and the *fan-out* (a source, 198 leaves taking its result and a sink
summing theirs), on a started ``Hybrid`` with no journal, then with a ``Journal`` in each
durability mode: ``off`` (``synchronous=OFF``), ``process`` (the default) and ``power``.
Each mode has its own journal file, which keeps every run. A measurement is one whole
run, from the call to ``system.arun(wf, x=1)`` to its answer, and every answer is checked;
**us/step** is its wall time over its 200 steps (the step bodies take well under 0.1 us),
**x floor** divides that by the floor's (``synchronous=NORMAL``). The floors and the
hybrid_core cases take turns, round after round, in one process and one event loop, with
a garbage collection before each run.

Resume: a completed run of a 10,000-step fan-out (9,998 leaves) in ``process`` mode,
then ``aresume`` of its ``run_id`` from a second ``Hybrid`` with its own ``Journal`` on
the same file, as a restarted process would; the run has nothing left to do, so the
resume reads the run's row and returns the same answer (checked), its step records
read from the journal when first asked for: the table times that first reading of all
of them (checked) on its own line. All three are timed, round after round. Driver
memory: fresh interpreters run a fan-out of 1,000 and of 10,000 steps, with and without
a ``process`` journal, after a small warm-up run; *peak* is the
most memory Python had allocated at once during a second run under ``tracemalloc``,
*RSS growth* the process's peak resident set during the first run (the kernel's
``VmHWM``, reset just before it) less its resident set before it, both per step.

The peers run in the workflow suite's peer environment (``benchmarks/.peers-venv``), each
in a subprocess running its script from ``benchmarks/peers/``, on the same 200-step chain
saved to a SQLite file at every step: one warm-up run, then timed runs up to a time budget
(at least one); their figures are medians too, and their settings are in the notes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peers
from _common import Report, Sandbox, Table, Target, about, interleaved
from bench_workflow import workflow
from peers import _harness

import hybrid_core as hc

TITLE = "Durable runs"
SIZE = 200  # steps of the chain and of the fan-out
LEAVES = SIZE - 2  # with its source and sink, the fan-out has SIZE steps
MODES = ("off", "process", "power")
RESUME_STEPS = 10_000
MEMORY_STEPS = (1_000, 10_000)
CHAIN_TARGET = 1.5  # x the floor, per step, `process` mode
FANOUT_TARGET = 0.5
RESUME_TARGET = 0.05  # of the run's time
FLAT_TARGET = 1.2  # peak bytes per step at 10,000 steps over those at 1,000
PEER_TIMEOUT = {False: 600.0, True: 240.0}  # seconds for one peer's script
WORKLOADS = {"chain": "chain", "fanout": "fan-out"}

# What hybrid_core is asked to do, by row; "none" runs without a journal.
HYBRID = {
    "none": "hybrid_core, no journal",
    "off": 'hybrid_core, journal `durability="off"`',
    "process": 'hybrid_core, journal `durability="process"`',
    "power": 'hybrid_core, journal `durability="power"`',
}
FLOORS = {
    "NORMAL": "SQLite floor: WAL, `synchronous=NORMAL`, a commit per step",
    "FULL": "SQLite floor: WAL, `synchronous=FULL`, a commit per step (`power`'s floor)",
}
HEADERS = ("implementation", "chain us/step", "chain x floor", "fan-out us/step",
           "fan-out x floor")  # fmt: skip


def figure(value: float) -> str:
    """Two decimals for small figures, none once the decimals stop mattering."""
    return f"{value:,.2f}" if value < 1_000 else f"{value:,.0f}"


def filesystem(path: Path) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts), or "" if unknown."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return ""
    target = str(path.resolve())
    best = ("", "")
    for point, kind in mounts:
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best[0]):
            best = (point, kind)
    return best[1]


@dataclass
class Row:
    """One implementation's median seconds per 200-step run, or why there is none."""

    label: str
    seconds: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def per_step(self, workload: str) -> float:
        return self.seconds[workload] / SIZE

    def cells(self, floor: Row) -> list[str]:
        cells = [self.label]
        for workload in WORKLOADS:
            if workload in self.seconds:
                mine = self.per_step(workload)
                ratio = mine / floor.per_step(workload)
                cells += [figure(mine * 1e6), f"{figure(ratio)}x"]
            else:
                cells += [self.missing.get(workload, ""), ""]
        return cells


# -- the SQLite floor --------------------------------------------------------------------


class Floor:
    """One committed row per step in a WAL file, ``synchronous`` as given."""

    INSERT = "INSERT INTO steps(run, seq, name, status, result) VALUES (?, ?, ?, ?, ?)"

    def __init__(self, path: Path, synchronous: str) -> None:
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute(
            "CREATE TABLE steps(run INTEGER, seq INTEGER, name TEXT, status TEXT, result TEXT)"
        )
        self.conn.commit()
        self.runs = 0

    def run(self, steps: int) -> float:
        """Seconds to commit ``steps`` rows one by one, as one run of a chain would."""
        self.runs += 1
        conn, run = self.conn, self.runs
        started = time.perf_counter()
        for i in range(steps):
            conn.execute(self.INSERT, (run, i, f"s{i}", "succeeded", json.dumps(i + 2)))
            conn.commit()
        return time.perf_counter() - started

    def check(self, steps: int) -> None:
        (rows,) = self.conn.execute("SELECT count(*) FROM steps").fetchone()
        if rows != steps * self.runs:
            raise AssertionError(f"the floor committed {rows} rows, not {steps * self.runs}")

    def close(self) -> None:
        self.conn.close()


# -- hybrid_core, in this process --------------------------------------------------------


def size_of(workload: str) -> int:
    """The workflow suite's size argument for a SIZE-step workload."""
    return LEAVES if workload == "fanout" else SIZE


class Bench:
    """The in-process cases: the floors, and a started system per journal mode."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.floors = {sync: Floor(folder / f"floor-{sync}.sqlite3", sync) for sync in FLOORS}
        self.journals: dict[str, Any] = {}
        self.systems = {"none": self._start(hc.Hybrid(entry_points=False, journal=False))}
        for mode in MODES:
            journal = hc.Journal(self.path(mode), durability=mode)
            self.journals[mode] = journal
            self.systems[mode] = self._start(hc.Hybrid(entry_points=False, journal=journal))
        self.workflows = {w: workflow(w, size_of(w)) for w in WORKLOADS}

    def path(self, mode: str) -> Path:
        return self.folder / f"journal-{mode}.sqlite3"

    def _start(self, system: hc.Hybrid) -> hc.Hybrid:
        return self.loop.run_until_complete(system.astart())

    def close(self) -> None:
        for system in self.systems.values():
            self.loop.run_until_complete(system.aclose())
        for journal in self.journals.values():
            journal.close()
        for floor in self.floors.values():
            floor.close()
        self.loop.close()

    def runner(self, workload: str, key: str) -> Callable[[], Awaitable[Any]]:
        """One whole run of ``workload`` on the ``key`` system, returning its answer."""
        system, wf = self.systems[key], self.workflows[workload]

        async def run() -> Any:
            return (await system.arun(wf, x=1)).unwrap()

        return run

    def checked(self, workload: str, key: str) -> Callable[[], Awaitable[Any]]:
        """:meth:`runner`, after a warm-up run whose answer is checked, and whose journal
        entry too: the run succeeded there with every one of its steps done."""
        wf = self.workflows[workload]
        result = self.loop.run_until_complete(self.systems[key].arun(wf, x=1))
        _harness.check(workload, size_of(workload), result.unwrap())
        if key in self.journals:
            row = self.journals[key].run(result.run_id)
            if (row.status, row.done, row.total) != ("succeeded", SIZE, SIZE):
                raise AssertionError(
                    f"the {key!r} journal holds a {row.status} run, {row.done} of {row.total} "
                    "steps done"
                )
        return self.runner(workload, key)

    def time(self, run: Callable[[], Awaitable[Any]], workload: str) -> float:
        gc.collect()
        seconds, answer = self.loop.run_until_complete(_timed(run))
        _harness.check(workload, size_of(workload), answer)
        return seconds


async def _timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = await run()
    return time.perf_counter() - started, answer


def in_process(bench: Bench, quick: bool) -> dict[str, Row]:
    """The floors' and hybrid_core's rows, every case taking its turn each round."""
    runs = {(w, k): bench.checked(w, k) for w in WORKLOADS for k in bench.systems}
    cases: list[tuple[str, str]] = [("floor", sync) for sync in FLOORS] + list(runs)

    def one(case: tuple[str, str]) -> float:
        what, key = case
        if what == "floor":
            gc.collect()
            return bench.floors[key].run(SIZE)
        return bench.time(runs[case], what)

    medians = interleaved(cases, 7 if quick else 41, one)
    for floor in bench.floors.values():
        floor.check(SIZE)
    rows = {sync: Row(label) for sync, label in FLOORS.items()}
    for sync in FLOORS:  # the same 200 commits stand for either shape
        rows[sync].seconds = dict.fromkeys(WORKLOADS, medians["floor", sync])
    for key, label in HYBRID.items():
        rows[key] = Row(label, {w: medians[w, key] for w in WORKLOADS})
    return rows


# -- resume ------------------------------------------------------------------------------


@dataclass
class Resume:
    """Median seconds of running the big fan-out, of resuming its completed run, and of
    then reading every step's record of the resumed result."""

    run: float
    resume: float
    records: float


def resume(folder: Path, quick: bool) -> Resume:
    loop = asyncio.new_event_loop()
    path = folder / "journal-resume.sqlite3"
    wf = workflow("fanout", RESUME_STEPS - 2)
    journals = [hc.Journal(path, durability="process") for _ in range(2)]
    writer, reader = (
        loop.run_until_complete(hc.Hybrid(entry_points=False, journal=j).astart()) for j in journals
    )
    reader.register(wf)  # what a restarted process would have registered
    samples: dict[str, list[float]] = {"run": [], "resume": [], "records": []}

    async def one() -> None:
        gc.collect()
        started = time.perf_counter()
        result = await writer.arun(wf, x=1)
        samples["run"].append(time.perf_counter() - started)
        answer = result.unwrap()
        _harness.check("fanout", RESUME_STEPS - 2, answer)
        gc.collect()
        started = time.perf_counter()
        again = await reader.aresume(result.run_id)
        samples["resume"].append(time.perf_counter() - started)
        if again.unwrap() != answer or again.run_id != result.run_id:
            raise AssertionError("resuming the completed run did not give back its answer")
        started = time.perf_counter()
        done = sum(1 for rec in again.steps.values() if rec.status.done and rec.attempts == 1)
        samples["records"].append(time.perf_counter() - started)
        if done != RESUME_STEPS:
            raise AssertionError(f"the resumed run holds {done} done steps, not {RESUME_STEPS}")

    try:
        for _ in range(3 if quick else 7):
            loop.run_until_complete(one())
    finally:
        for system in (writer, reader):
            loop.run_until_complete(system.aclose())
        for journal in journals:
            journal.close()
        loop.close()
    return Resume(*(statistics.median(samples[k]) for k in ("run", "resume", "records")))


def resume_table(found: Resume) -> Table:
    caption = (
        f"Resuming a completed run of {RESUME_STEPS:,} steps (a fan-out of "
        f"{RESUME_STEPS - 2:,} leaves), journal `process`."
    )
    headers = ("what", "ms", "share of the run")
    rows = [
        [f"the run, {RESUME_STEPS:,} steps", figure(found.run * 1e3), "100%"],
        ["`aresume(run_id)` of the completed run, from a second system",
         figure(found.resume * 1e3), f"{found.resume / found.run:.1%}"],
        [f"then reading its {RESUME_STEPS:,} step records (status, attempts), first access",
         figure(found.records * 1e3), f"{found.records / found.run:.1%}"],
    ]  # fmt: skip
    return Table(headers, rows, caption=caption)


# -- driver memory, in fresh interpreters ------------------------------------------------

MEMORY_CODE = """
import asyncio, gc, json, tracemalloc
from bench_workflow import workflow
from peers import _harness
import hybrid_core as hc

STEPS, JOURNAL = {steps}, {journal!r}


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def reset_peak():  # the kernel's peak resident set (VmHWM) back to the current one
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


async def main():
    journal = hc.Journal(JOURNAL, durability="process") if JOURNAL else None
    system = await hc.Hybrid(entry_points=False, journal=journal or False).astart()
    small, big = workflow("fanout", 8), workflow("fanout", STEPS - 2)
    (await system.arun(small, x=1)).unwrap()
    gc.collect()
    before, known = status("VmRSS"), reset_peak()
    result = await system.arun(big, x=1)
    grown = status("VmHWM") - before if known and before is not None else None
    _harness.check("fanout", STEPS - 2, result.unwrap())
    del result
    gc.collect()
    tracemalloc.start()
    result = await system.arun(big, x=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _harness.check("fanout", STEPS - 2, result.unwrap())
    await system.aclose()
    if journal:
        journal.close()
    print(json.dumps({{"peak": peak, "rss": grown}}))


asyncio.run(main())
"""


def memory(folder: Path, quick: bool) -> dict[tuple[int, str], tuple[Any, Any]]:
    """(peak, RSS growth) bytes per step, by (steps, "none" or "process")."""
    cases = [(steps, kind) for steps in MEMORY_STEPS for kind in ("none", "process")]
    samples: dict[tuple[int, str], list[dict[str, int]]] = {case: [] for case in cases}
    here = Path(__file__).resolve().parent
    with Sandbox() as box:

        def one(case: tuple[int, str]) -> float:
            steps, kind = case
            path = folder / f"memory-{steps}-{len(samples[case])}.sqlite3"
            code = MEMORY_CODE.format(steps=steps, journal=str(path) if kind != "none" else "")
            out = box.python(code, paths=[here]).stdout.strip().splitlines()[-1]
            samples[case].append(json.loads(out))
            return 0.0

        interleaved(cases, 1 if quick else 3, one)
    return {case: (_per_step(got, "peak", case[0]), _per_step(got, "rss", case[0]))
            for case, got in samples.items()}  # fmt: skip


def _per_step(samples: list[dict[str, int | None]], key: str, steps: int) -> float | None:
    """The median of one figure over fresh interpreters, per step; None if never known."""
    known = [s[key] for s in samples if s[key] is not None]
    return statistics.median(known) / steps if known else None


def memory_table(found: Mapping[tuple[int, str], tuple[Any, Any]]) -> Table:
    rows = []
    for steps in MEMORY_STEPS:
        for kind in ("none", "process"):
            label = "no journal" if kind == "none" else 'journal `durability="process"`'
            peak, rss = found[steps, kind]
            rss_text = "unknown (no /proc/self/clear_refs)" if rss is None else f"{rss:,.0f}"
            rows.append([f"{steps:,}", label, f"{peak:,.0f}", rss_text])
    headers = ("steps", "driver", "peak B/step (tracemalloc)", "RSS growth B/step")
    caption = "Driver memory of one fan-out run, per step."
    return Table(headers, rows, caption=caption)


# -- the peers, in their own environment -------------------------------------------------


def peer_plan(quick: bool) -> dict[str, Any]:
    return {
        "sizes": {"chain": SIZE, "fanout": LEAVES, "io": 0},
        "sleep": 0.0,
        "repeats": {"chain": 5 if quick else 21, "fanout": 1, "io": 1},
        "budget": 3.0 if quick else 15.0,
    }


class _Unknown(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def peer_rows(quick: bool) -> tuple[list[Row], list[str]]:
    """A row per durable peer variant, and the notes their runs call for."""
    plan = peer_plan(quick)
    pinned = peers.pinned_versions()
    pinned["langgraph_sqlite"] = pinned.get("langgraph", "?")
    outputs: dict[str, Any] = {}
    try:
        interpreter = peers.environment()
    except peers.PeerError as exc:
        outputs = {p.script: str(exc) for p in peers.DURABLE_PEERS}
    for script in dict.fromkeys(p.script for p in peers.DURABLE_PEERS):
        if script in outputs:
            continue
        print(f"  running peer {script}", file=sys.stderr, flush=True)
        try:
            outputs[script] = peers.run_peer(interpreter, script, plan, PEER_TIMEOUT[quick])
        except peers.PeerError as exc:
            outputs[script] = str(exc)
    rows, notes = [], []
    for script, template in peers.DURABLE_NOTES.items():
        out = outputs[script]
        settings = {} if isinstance(out, str) else dict(out.get("settings", {}))
        if "checkpoints" in settings:  # every run, warm-ups included, of every variant
            ran = sum(1 + len(v["chain"].get("seconds", ())) for v in out["variants"].values())
            settings["per_run"] = f"{settings['checkpoints'] / max(ran, 1):,.0f}"
        notes.append(template.format_map(_Unknown(settings)))
    for peer in peers.DURABLE_PEERS:
        out = outputs[peer.script]
        version = pinned.get(peer.script, "?") if isinstance(out, str) else out["version"]
        row = Row(peer.label.format(v=version))  # the chain only: its fan-out cells stay empty
        if isinstance(out, str):
            row.missing["chain"] = f"not measured: {out}"
        else:
            got = out["variants"].get(peer.variant, {}).get("chain", {"error": "no figures"})
            if "seconds" in got:
                row.seconds["chain"] = statistics.median(got["seconds"])
            else:
                row.missing["chain"] = "failed"
                notes.append(f"{row.label}, chain: failed with {got.get('error')}")
        rows.append(row)
    return rows, notes


# -- the report --------------------------------------------------------------------------


def floor_targets(rows: Mapping[str, Row]) -> list[Target]:
    floor, mine = rows["NORMAL"], rows["process"]
    found = []
    for workload, limit in (("chain", CHAIN_TARGET), ("fanout", FANOUT_TARGET)):
        goal = (
            f"{WORKLOADS[workload]}, journal `process`: time per step at most {limit:g}x the "
            "SQLite floor's (WAL, `synchronous=NORMAL`, one committed row per step)"
        )
        ratio = mine.per_step(workload) / floor.per_step(workload)
        measured = (
            f"{ratio:.2f}x ({figure(mine.per_step(workload) * 1e6)} against "
            f"{figure(floor.per_step(workload) * 1e6)} us/step)"
        )
        found.append(Target(goal, measured, ratio <= limit))
    return found


def resume_target(found: Resume) -> Target:
    goal = (
        f"resuming a completed {RESUME_STEPS:,}-step run at most {RESUME_TARGET:.0%} of the "
        "time of running it"
    )
    share = found.resume / found.run
    measured = f"{share:.1%} ({found.resume * 1e3:,.1f} against {found.run * 1e3:,.1f} ms)"
    return Target(goal, measured, share <= RESUME_TARGET)


def memory_target(found: Mapping[tuple[int, str], tuple[Any, Any]]) -> Target:
    small, big = MEMORY_STEPS
    goal = (
        f"driver memory flat in the number of steps: peak bytes per step of a {big:,}-step "
        f"journaled run at most {FLAT_TARGET:g}x those of a {small:,}-step one"
    )
    ratio = found[big, "process"][0] / found[small, "process"][0]
    measured = (
        f"{ratio:.2f}x ({found[big, 'process'][0]:,.0f} against "
        f"{found[small, 'process'][0]:,.0f} B/step)"
    )
    return Target(goal, measured, ratio <= FLAT_TARGET)


def peer_target(rows: Mapping[str, Row], peer_list: list[Row]) -> Target:
    goal = (
        "ahead of LangGraph (`SqliteSaver`) and of DBOS (SQLite) on the durable 200-step "
        "chain, like for like: journal `power` against each peer's faster variant (both "
        "peers' SQLite syncs every commit to disk)"
    )
    parts, met = [], True
    for name in ("LangGraph", "DBOS"):
        measured = [p for p in peer_list if p.label.startswith(name) and "chain" in p.seconds]
        if not measured:
            parts.append(f"{name}: not measured")
            met = False
            continue
        best = min(p.per_step("chain") for p in measured)
        factors = {m: best / rows[m].per_step("chain") for m in ("power", "process")}
        met = met and factors["power"] > 1
        parts.append(
            f"{name} {figure(best * 1e6)} us/step: `power` {factors['power']:.1f}x faster, "
            f"`process` {factors['process']:.1f}x faster"
        )
    return Target(goal, "; ".join(parts), met)


def run(*, quick: bool) -> Report:
    with tempfile.TemporaryDirectory(prefix="hybrid-bench-journal-") as scratch:
        folder = Path(scratch)
        bench = Bench(folder)
        try:
            rows = in_process(bench, quick)
        finally:
            bench.close()
        resumed = resume(folder, quick)
        mem = memory(folder, quick)
    peer_list, peer_notes = peer_rows(quick)
    floor = rows["NORMAL"]
    table = Table(HEADERS, [r.cells(floor) for r in [*rows.values(), *peer_list]])
    power, full, bare = rows["power"], rows["FULL"], rows["none"]
    added = {w: (rows["process"].per_step(w) - bare.per_step(w)) * 1e6 for w in WORKLOADS}
    notes = [
        f"The `process` journal adds {figure(added['chain'])} us per step to the chain and "
        f"{figure(added['fanout'])} to the fan-out, over the same runs with no journal.",
        "Against its own floor (`synchronous=FULL`), the `power` journal takes "
        f"{power.per_step('chain') / full.per_step('chain'):.2f}x its time per step on the "
        f"chain and {power.per_step('fanout') / full.per_step('fanout'):.2f}x on the fan-out.",
    ]
    kind = filesystem(Path(tempfile.gettempdir()))
    notes += [
        f"Every SQLite file (the floors', the journals', the peers') lives in a scratch folder "
        f"under {tempfile.gettempdir()}{f', on {kind}' if kind else ''}; how long a commit "
        "takes, above all with an `fsync`, is the disk's figure more than the code's.",
        "The floor's row has no index beyond SQLite's rowid and its transaction holds one "
        "`INSERT`; the same 200 commits stand for either shape, so its two columns are one "
        "figure.",
        "The peers run the chain only, so their fan-out cells are empty.",
        "tracemalloc sees what Python allocates, not SQLite's own page cache, which RSS "
        "growth includes (with the first big run's compiled plan).",
        *peer_notes,
    ]
    plan = peer_plan(quick)
    rounds = "7" if quick else "41"
    return Report(
        about=about(__doc__),
        runs=f"In-process figures are medians of {rounds} interleaved runs, the resume's of "
        f"{3 if quick else 7}, memory's of {1 if quick else 3} fresh interpreters per case; "
        f"the peers' of up to {plan['repeats']['chain']} runs, or as many as fit in "
        f"{plan['budget']:g} s per variant",
        tables=[table, resume_table(resumed), memory_table(mem)],
        targets=[
            *floor_targets(rows),
            resume_target(resumed),
            memory_target(mem),
            peer_target(rows, peer_list),
        ],
        notes=notes,
    )
