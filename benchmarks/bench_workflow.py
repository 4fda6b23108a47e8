"""Workflow overhead: hybrid_core against bare asyncio and the tools people use instead.

Three workloads whose steps do trivial work (add to the input, or sum the fan-in), so that
the figures are the framework's: *chain*, 200 steps each taking the result of the one
before; *fan-out*, a source, 1,000 independent steps taking its result and a sink summing
theirs (1,002 steps); *I/O fan-out*, 100 independent steps each awaiting
``asyncio.sleep(0.02)``, whose ideal wall time is 20 ms. Every implementation builds its
workflow (graph, driver, module) once; a measurement is one whole run, from the call to its
answer, and every answer is checked. **us/step** is the wall time of a run divided by its
number of steps (the step bodies take well under 0.1 us, so this is overhead); **x tasks**
divides it by the same figure for bare asyncio with one task per step. The I/O columns give
the run's wall time and how far it is above the ideal 20 ms.

The floors are the same ``async def`` steps awaited one after the other (*plain awaits*) and
bare asyncio with one task per step (``asyncio.create_task`` for each chain step,
``asyncio.gather`` for the fan-outs). hybrid_core runs the same ``async def`` functions as
steps, through ``system.arun(wf, x=1)`` of a started ``Hybrid``; extra rows give every step
``retry=RetryPolicy(max_attempts=3)`` and ``timeout=30``, attach an ``InMemorySink``, or
pass ``max_concurrency=100``. These in-process cases take turns, round after round, in one
event loop, with a garbage collection before each run.

The peers run in their own virtual environment, ``benchmarks/.peers-venv``, which the suite
creates once from ``benchmarks/peers/requirements.txt`` and reuses (they are never project
dependencies), each in a subprocess running its script from ``benchmarks/peers/``. A peer
gets one warm-up run per workload, then timed runs up to a time budget per workload (at
least one); their figures are medians too. The peers' own settings are in the notes.

Memory: one 10,000-leaf fan-out run under ``tracemalloc``; *peak* is the most memory the run
had allocated at once, *kept* what is still allocated when it has returned, while its caller
holds what it returned (for hybrid_core the ``RunResult``, with every step's record and
result; for the floors the sum), both per step; *beyond the results* subtracts the plain
awaits' peak, which is the step results alone (a list of 10,000 ints).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import peers
from _common import Report, Table, Target, about, interleaved
from peers import _harness

import hybrid_core as hc

TITLE = "Workflow overhead"
WORKLOADS = ("chain", "fanout", "io")
SIZES = {"chain": 200, "fanout": 1_000, "io": 100}
PREFECT_SIZES = {False: {"chain": 50, "fanout": 100, "io": 100},
                 True: {"chain": 20, "fanout": 50, "io": 100}}  # fmt: skip
SLEEP = 0.02
MEMORY_LEAVES = 10_000
# The most hybrid_core may take per step, as a multiple of bare asyncio's task per step.
RATIO_TARGET = {"chain": 0.29, "fanout": 1.0}
IO_SLACK = 0.005
PEER_TIMEOUT = {False: 900.0, True: 240.0}  # seconds for one peer's script
MEMORY_TARGET = 500  # bytes per step beyond the results at the peak: "a few hundred"
KEPT_TARGET = 150  # bytes per step a finished RunResult keeps, the results included
POLICIES = {"retry": hc.RetryPolicy(max_attempts=3), "timeout": 30.0}

IN_PROCESS = {
    "plain": "plain awaits, in order (floor)",
    "tasks": "bare asyncio, one task per step (floor)",
    "hybrid": "hybrid_core, `system.arun`",
    "policies": "hybrid_core, retry + timeout on every step",
    "telemetry": "hybrid_core, `InMemorySink` attached",
    "bounded": "hybrid_core, `max_concurrency=100`",
}
HEADERS = ("implementation", "chain us/step", "chain x tasks", "fan-out us/step",
           "fan-out x tasks", "I/O ms", "I/O over ideal ms")  # fmt: skip

# -- the steps, the same everywhere ------------------------------------------------------


async def inc(x: int) -> int:
    return x + 1


async def source(x: int) -> int:
    return x


async def leaf(x: int, i: int) -> int:
    return x + i


async def total(parts: list[int]) -> int:
    return sum(parts)


async def wait(i: int) -> int:
    await asyncio.sleep(SLEEP)
    return i


def steps(workload: str, size: int) -> int:
    """How many steps a workload of ``size`` has: the fan-out adds its source and sink."""
    return size + 2 if workload == "fanout" else size


def workflow(workload: str, size: int, **options: Any) -> hc.Workflow:
    """The workload as a hybrid_core workflow, every step with ``options``."""
    wf = hc.Workflow(workload, inputs=["x"])
    if workload == "chain":
        for i in range(size):
            wf.step(f"s{i}", inc, x=hc.result(f"s{i - 1}") if i else hc.input("x"), **options)
        wf.returns(f"s{size - 1}")
    elif workload == "fanout":
        wf.step("source", source, x=hc.input("x"), **options)
        leaves = [f"f{i}" for i in range(size)]
        for i, name in enumerate(leaves):
            wf.step(name, leaf, x=hc.result("source"), i=i, **options)
        wf.step("sink", total, parts=[hc.result(name) for name in leaves], **options)
        wf.returns("sink")
    else:
        names = [f"io{i}" for i in range(size)]
        for i, name in enumerate(names):
            wf.step(name, wait, i=i, **options)
        wf.returns([hc.result(name) for name in names])
    return wf


async def plain(workload: str, size: int) -> Any:
    """The floor: the same coroutines, awaited in order."""
    if workload == "chain":
        x = 1
        for _ in range(size):
            x = await inc(x)
        return x
    if workload == "fanout":
        x = await source(1)
        return await total([await leaf(x, i) for i in range(size)])
    return [await wait(i) for i in range(size)]


async def tasks(workload: str, size: int) -> Any:
    """The floor: bare asyncio, one task per step."""
    if workload == "chain":
        x = 1
        for _ in range(size):
            x = await asyncio.create_task(inc(x))
        return x
    if workload == "fanout":
        x = await asyncio.create_task(source(1))
        parts = await asyncio.gather(*(leaf(x, i) for i in range(size)))
        return await asyncio.create_task(total(parts))
    return await asyncio.gather(*(wait(i) for i in range(size)))


# -- the rows of the table ---------------------------------------------------------------


@dataclass
class Row:
    """One implementation's figures: median seconds per run, or why there is none."""

    label: str
    sizes: Mapping[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    fastest: dict[str, float] = field(default_factory=dict)

    def per_step(self, workload: str) -> float:
        return self.seconds[workload] / steps(workload, self.sizes[workload])

    def cells(self, floor: Row) -> list[str]:
        cells = [self.label]
        for workload in ("chain", "fanout"):
            if workload in self.seconds:
                mine = self.per_step(workload)
                cells += [
                    _figure_text(mine * 1e6),
                    f"{_figure_text(mine / floor.per_step(workload))}x",
                ]
            else:
                cells += [self.missing.get(workload, ""), ""]
        if "io" in self.seconds:
            io = self.seconds["io"]
            cells += [f"{io * 1e3:,.1f}", f"{(io - SLEEP) * 1e3:,.1f}"]
        else:
            cells += [self.missing.get("io", ""), ""]
        return cells


def _figure_text(value: float) -> str:
    """Two decimals for small figures, none once the decimals stop mattering."""
    return f"{value:,.2f}" if value < 1_000 else f"{value:,.0f}"


# -- hybrid_core and the floors, in this process ----------------------------------------


class Bench:
    """The in-process cases, on one event loop with two started systems."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sink = hc.InMemorySink()
        self.system = self._start(hc.Hybrid(entry_points=False))
        self.observed = self._start(hc.Hybrid(entry_points=False, sinks=[self.sink]))

    def _start(self, system: hc.Hybrid) -> hc.Hybrid:
        return self.loop.run_until_complete(system.astart())

    def close(self) -> None:
        for system in (self.system, self.observed):
            self.loop.run_until_complete(system.aclose())
        self.loop.close()

    def runner(
        self, key: str, workload: str, size: int, *, keep: bool = False
    ) -> Callable[[], Awaitable[Any]]:
        """A coroutine function running one whole run of ``workload`` the ``key`` way and
        returning its answer, or with ``keep`` hybrid_core's whole RunResult."""
        if key in ("plain", "tasks"):
            floor = plain if key == "plain" else tasks
            return lambda: floor(workload, size)
        wf = workflow(workload, size, **(POLICIES if key == "policies" else {}))
        system = self.observed if key == "telemetry" else self.system
        limit = 100 if key == "bounded" else None

        async def run() -> Any:
            result = await system.arun(wf, x=1, max_concurrency=limit)
            if keep:
                return result
            value = result.unwrap()
            return list(value) if workload == "io" else value

        return run

    def checked(
        self, key: str, workload: str, size: int, *, keep: bool = False
    ) -> Callable[[], Awaitable[Any]]:
        """:meth:`runner`, after one warm-up run whose answer is checked."""
        run = self.runner(key, workload, size, keep=keep)
        answer = self.loop.run_until_complete(run())
        if isinstance(answer, hc.RunResult):
            answer = answer.unwrap()
        _harness.check(workload, size, answer)
        return run

    def time(self, run: Callable[[], Awaitable[Any]]) -> float:
        self.sink.clear()
        gc.collect()
        return self.loop.run_until_complete(_timed(run))

    def trace(self, run: Callable[[], Awaitable[Any]]) -> tuple[int, int]:
        """(peak, kept) bytes of one run under tracemalloc."""
        gc.collect()
        return self.loop.run_until_complete(_traced(run))


async def _timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


async def _traced(run: Callable[[], Awaitable[Any]]) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = await run()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak, kept


def in_process(bench: Bench, quick: bool) -> dict[str, Row]:
    rows = {key: Row(label, SIZES) for key, label in IN_PROCESS.items()}
    rounds = {"chain": 7, "fanout": 7, "io": 5} if quick else {"chain": 41, "fanout": 41, "io": 15}
    for workload in WORKLOADS:
        size = SIZES[workload]
        # Awaiting 100 sleeps in order takes 100 x 20 ms by construction: run it once.
        keys = [k for k in IN_PROCESS if not (workload == "io" and k == "plain")]
        runs = {k: bench.checked(k, workload, size) for k in keys}
        samples: dict[str, list[float]] = {k: [] for k in keys}

        def one(key: str, runs: Any = runs, samples: Any = samples) -> float:
            samples[key].append(bench.time(runs[key]))
            return samples[key][-1]

        for key, seconds in interleaved(keys, rounds[workload], one).items():
            rows[key].seconds[workload] = seconds
            rows[key].fastest[workload] = min(samples[key])
    rows["plain"].seconds["io"] = bench.time(bench.runner("plain", "io", SIZES["io"]))
    return rows


def memory(bench: Bench, quick: bool) -> tuple[Table, float, float, float]:
    """The memory table, hybrid_core's peak beyond the results, bare asyncio's, and what
    hybrid_core's RunResult keeps."""
    keys = ("plain", "tasks", "hybrid", "bounded")
    count = steps("fanout", MEMORY_LEAVES)
    runs = {k: bench.checked(k, "fanout", MEMORY_LEAVES, keep=True) for k in keys}
    traced = {k: [bench.trace(runs[k]) for _ in range(1 if quick else 3)] for k in keys}
    peak = {k: statistics.median(p for p, _ in v) / count for k, v in traced.items()}
    kept = {k: statistics.median(c for _, c in v) / count for k, v in traced.items()}
    rows = [[IN_PROCESS[k].replace(" (floor)", ""), f"{peak[k]:,.0f}",
             f"{peak[k] - peak['plain']:,.0f}", f"{kept[k]:,.0f}"] for k in keys]  # fmt: skip
    rows[0][0] = "plain awaits, in order (the results alone)"
    headers = ("implementation", "peak B/step", "beyond the results B/step", "kept B/step")
    caption = f"Memory of one fan-out run of {MEMORY_LEAVES:,} leaves ({count:,} steps)."
    beyond = peak["hybrid"] - peak["plain"]
    table = Table(headers, rows, caption=caption)
    return table, beyond, peak["tasks"] - peak["plain"], kept["hybrid"]


# -- the peers, in their own environment ------------------------------------------------


def peer_plan(script: str, quick: bool) -> dict[str, Any]:
    sizes = PREFECT_SIZES[quick] if script == "prefect" else SIZES
    repeats = {"chain": 5, "fanout": 5, "io": 3} if quick else {"chain": 21, "fanout": 15, "io": 9}
    return {"sizes": sizes, "sleep": SLEEP, "repeats": repeats, "budget": 2.0 if quick else 10.0}


def peer_rows(quick: bool) -> tuple[list[Row], list[str]]:
    """A row per peer variant, and the notes their runs call for."""
    versions = peers.pinned_versions()
    plans = {p.script: peer_plan(p.script, quick) for p in peers.PEERS}
    outputs: dict[str, Any] = {}
    problem = ""
    try:
        interpreter = peers.environment()
    except peers.PeerError as exc:
        problem = str(exc)
    for script, plan in plans.items():
        if problem:
            outputs[script] = problem
            continue
        print(f"  running peer {script}", file=sys.stderr, flush=True)
        try:
            outputs[script] = peers.run_peer(interpreter, script, plan, PEER_TIMEOUT[quick])
        except peers.PeerError as exc:
            outputs[script] = str(exc)
    rows, notes = [], []
    for peer in peers.PEERS:
        out = outputs[peer.script]
        version = versions.get(peer.script, "?") if isinstance(out, str) else out["version"]
        row = Row(peer.label.format(v=version), plans[peer.script]["sizes"])
        if peer.script == "prefect":
            row.label += f"; chain {row.sizes['chain']}, fan-out {row.sizes['fanout']} steps"
        if isinstance(out, str):
            row.missing["chain"] = f"not measured: {out}"
        else:
            notes += _fill(row, out["variants"].get(peer.variant, {}))
        rows.append(row)
    return rows, notes


def _fill(row: Row, figures: Mapping[str, Any]) -> list[str]:
    notes = []
    for workload in WORKLOADS:
        got = figures.get(workload, {"error": "no figures"})
        if "seconds" in got:
            row.seconds[workload] = statistics.median(got["seconds"])
        elif "skipped" in got:
            row.missing[workload] = "not run"
        else:
            row.missing[workload] = "failed"
            notes.append(f"{row.label}, {workload}: failed with {got['error']}")
    return notes


# -- the report -------------------------------------------------------------------------


def targets(
    rows: Mapping[str, Row], peer_list: list[Row], beyond: float, kept: float
) -> list[Target]:
    hybrid, floor = rows["hybrid"], rows["tasks"]
    found = []
    for workload, name in (("chain", "chain"), ("fanout", "fan-out")):
        ratio = hybrid.per_step(workload) / floor.per_step(workload)
        goal = (
            f"{name}: hybrid_core's time per step at most {RATIO_TARGET[workload]:g}x bare "
            "asyncio's "
            "(the `system.arun` row: retry, timeout and telemetry hooks compiled in, none set)"
        )
        found.append(Target(goal, f"{ratio:.2f}x", ratio <= RATIO_TARGET[workload]))
    found.append(_ahead(hybrid, peer_list))
    over = hybrid.seconds["io"] - SLEEP
    found.append(Target(f"I/O fan-out within {IO_SLACK * 1e3:g} ms of the ideal 20 ms",
                        f"{over * 1e3:.1f} ms over", over <= IO_SLACK))  # fmt: skip
    found.append(Target(
        f"memory at most a few hundred ({MEMORY_TARGET}) bytes per step beyond the results, "
        f"{MEMORY_LEAVES:,}-leaf fan-out, peak",
        f"{beyond:,.0f} B/step", beyond <= MEMORY_TARGET,
    ))  # fmt: skip
    found.append(Target(
        f"a finished `RunResult` keeps at most {KEPT_TARGET} bytes per step, "
        f"{MEMORY_LEAVES:,}-leaf fan-out, every step's record and result included",
        f"{kept:,.0f} B/step", kept <= KEPT_TARGET,
    ))  # fmt: skip
    return found


def _ahead(hybrid: Row, peer_list: list[Row]) -> Target:
    goal = "ahead of every peer on every workload (Hamilton's sync driver included)"
    parts, met = [], True
    for workload, name in (("chain", "chain"), ("fanout", "fan-out"), ("io", "I/O")):
        measured = [p for p in peer_list if workload in p.seconds]
        if not measured:
            parts.append(f"{name}: no peer measured")
            met = False
            continue
        best = min(measured, key=lambda r, w=workload: _figure(r, w))
        theirs, mine = _figure(best, workload), _figure(hybrid, workload)
        met = met and theirs > mine
        unit, scale = ("ms", 1e3) if workload == "io" else ("us/step", 1e6)
        parts.append(
            f"{name}: {mine * scale:.2f} against {theirs * scale:.2f} {unit} for the fastest "
            f"peer, {best.label}"
        )
    return Target(goal, "; ".join(parts), met)


def _figure(row: Row, workload: str) -> float:
    """What the workload is judged by: time per step, or the I/O fan-out's wall time."""
    return row.seconds["io"] if workload == "io" else row.per_step(workload)


def run(*, quick: bool) -> Report:
    bench = Bench()
    try:
        rows = in_process(bench, quick)
        mem_table, beyond, asyncio_beyond, kept = memory(bench, quick)
    finally:
        bench.close()
    peer_list, notes = peer_rows(quick)
    floor = rows["tasks"]
    table = Table(HEADERS, [r.cells(floor) for r in [*rows.values(), *peer_list]])
    best = {w: rows["hybrid"].fastest[w] / floor.fastest[w] for w in ("chain", "fanout")}
    notes = [
        "The plain awaits' I/O figure is one run: it awaits 100 sleeps of 20 ms in turn.",
        "Other work on the machine stretches some runs (the load average at the start is in "
        "the heading) and moves the medians; the fastest runs alone put hybrid_core at "
        f"{best['chain']:.2f}x (chain) and {best['fanout']:.2f}x (fan-out) of bare asyncio's "
        "time per step.",
        f"At the peak, bare asyncio's task per step holds {asyncio_beyond:,.0f} bytes per step "
        f"beyond the results, hybrid_core {beyond:,.0f}: its workers take ready steps from "
        "a queue rather than holding a task each, and a running run keeps its steps' times "
        "as floats in a list, packed into an array of doubles when it ends.",
        *peers.NOTES.values(),
        *notes,
    ]
    in_rounds = "7 (I/O 5)" if quick else "41 (I/O 15)"
    plan = peer_plan("hamilton", quick)
    most, budget = max(plan["repeats"].values()), plan["budget"]
    return Report(
        about=about(__doc__),
        runs=f"In-process figures are medians of {in_rounds} interleaved runs; the peers' "
        f"of up to {most} runs, or as many as fit in {budget:g} s per workload",
        tables=[table, mem_table],
        targets=targets(rows, peer_list, beyond, kept),
        notes=notes,
    )
