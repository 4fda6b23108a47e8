"""Hybrid steps: what reaching an engine through the system costs, per call.

A started ``Hybrid`` has two engines serving the capability ``bench.work`` (built with
``hybrid_core.testing.make_engine``, priorities 20 and 10, registered through
``make_plugin``), both with the handler ``async def handler(payload): return payload + 1``.
Three workflows chain 500 steps, each passing its result on as the next step's payload:
function steps whose function is the handler itself, ``engine_step``s pinned to the first
engine, and ``capability_step``s routed between the two by the system's default strategy.
Outside workflows, a loop awaits ``system.aexecute("bench.work", x)`` 500 times, and another
awaits the handler itself 500 times. Each figure is the wall time of a whole run (or loop)
divided by its 500 calls; the cases take turns, round after round, in one event loop, with a
garbage collection before each run.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import Report, Table, Target, about, interleaved

import hybrid_core as hc
from hybrid_core.testing import make_engine, make_plugin

TITLE = "Hybrid steps"
CALLS = 500
CAPABILITY = "bench.work"
PINNED = "bench.first"

STEPS = {
    "function": "function step (the handler is the step's function)",
    "engine": "`engine_step`, pinned to one engine",
    "capability": "`capability_step`, routed between two engines",
}
STEP_HEADERS = ("step", "us/call", "over a function step us", "vs function step")
LOOP_HEADERS = ("call", "us/call", "over the handler us")
LOOPS = {
    "direct": "`await handler(x)`",
    "aexecute": '`await system.aexecute("bench.work", x)`',
}


async def handler(payload: int) -> int:
    return payload + 1


def chain(kind: str) -> hc.Workflow:
    """``CALLS`` steps of ``kind`` in a chain, each step's result the next one's payload."""
    wf = hc.Workflow(f"{kind}-chain", inputs=["x"])
    for i in range(CALLS):
        payload = hc.result(f"s{i - 1}") if i else hc.input("x")
        if kind == "function":
            wf.step(f"s{i}", handler, payload=payload)
        elif kind == "engine":
            wf.add(hc.engine_step(f"s{i}", PINNED, payload=payload))
        else:
            wf.add(hc.capability_step(f"s{i}", CAPABILITY, payload=payload))
    wf.returns(f"s{CALLS - 1}")
    return wf


def system() -> hc.Hybrid:
    engines = [
        make_engine(handler, CAPABILITY, name=PINNED, priority=20),
        make_engine(handler, CAPABILITY, name="bench.second", priority=10),
    ]
    return hc.Hybrid(plugins=[make_plugin("bench", engines=engines)], entry_points=False)


def cases(host: hc.Hybrid) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Every case as a coroutine function returning its final value (``1 + CALLS``)."""
    found: dict[str, Callable[[], Awaitable[Any]]] = {}
    for kind in STEPS:
        wf = chain(kind)

        async def run(wf: hc.Workflow = wf) -> Any:
            return (await host.arun(wf, x=1)).unwrap()

        found[kind] = run

    async def direct() -> int:
        x = 1
        for _ in range(CALLS):
            x = await handler(x)
        return x

    async def routed() -> int:
        x = 1
        for _ in range(CALLS):
            x = await host.aexecute(CAPABILITY, x)
        return x

    found["direct"], found["aexecute"] = direct, routed
    return found


async def _timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


def measure(rounds: int) -> tuple[dict[str, float], str]:
    """Median seconds per call of every case, and which engine the routed steps reached."""
    loop = asyncio.new_event_loop()
    host = loop.run_until_complete(system().astart())
    try:
        runs = cases(host)
        for name, run in runs.items():
            answer = loop.run_until_complete(run())
            if answer != 1 + CALLS:
                raise AssertionError(f"{name}: got {answer!r}, expected {1 + CALLS}")
        served = loop.run_until_complete(host.arun(chain("capability"), x=1)).steps["s0"].provider

        def one(name: str) -> float:
            gc.collect()
            return loop.run_until_complete(_timed(runs[name])) / CALLS

        medians = interleaved(list(runs), rounds, one)
    finally:
        loop.run_until_complete(host.aclose())
        loop.close()
    return medians, served or "?"


def run(*, quick: bool) -> Report:
    rounds = 11 if quick else 51
    medians, served = measure(rounds)
    base = medians["function"]
    step_rows = [
        [label, f"{medians[k] * 1e6:.2f}", f"{(medians[k] - base) * 1e6:.2f}",
         f"{medians[k] / base:.2f}x"]
        for k, label in STEPS.items()
    ]  # fmt: skip
    direct = medians["direct"]
    loop_rows = [
        [label, f"{medians[k] * 1e6:.2f}", f"{(medians[k] - direct) * 1e6:.2f}"]
        for k, label in LOOPS.items()
    ]
    return Report(
        about=about(__doc__),
        runs=f"Each figure is the median of {rounds} interleaved runs of {CALLS} calls",
        tables=[
            Table(STEP_HEADERS, step_rows, caption=f"A workflow of {CALLS} steps in a chain."),
            Table(LOOP_HEADERS, loop_rows, caption=f"{CALLS} calls in a loop, no workflow."),
        ],
        targets=targets(medians),
        notes=[
            f"The routed steps were served by `{served}`, the engine of higher priority, "
            "as the default strategy orders them; the pinned steps name the same engine, so "
            "the difference between the two rows is the routing alone.",
        ],
    )


# The targets, in microseconds over the reference, and the function step they were set
# against: on a slower machine the same work takes longer, so the figures are also given
# in function steps, which compare across machines.
GOALS = {
    "capability": ("a routed step (`capability_step`)", "function", 4.0),
    "engine": ("a pinned engine step (`engine_step`)", "function", 2.5),
    "aexecute": ("`system.aexecute`", "direct", 4.0),
}
REFERENCE_FUNCTION_STEP = 1.30  # us, where the targets were set


def targets(medians: dict[str, float]) -> list[Target]:
    found = []
    unit = medians["function"] * 1e6
    for key, (what, over, goal) in GOALS.items():
        extra = (medians[key] - medians[over]) * 1e6
        reference = "a function step" if over == "function" else "the bare handler"
        found.append(
            Target(
                f"{what} costs at most {goal:g} us over {reference}",
                f"{extra:.2f} us over; in function steps {extra / unit:.2f} against the "
                f"target's {goal / REFERENCE_FUNCTION_STEP:.2f} (a function step here: "
                f"{unit:.2f} us; where the target was set: {REFERENCE_FUNCTION_STEP:.2f} us)",
                extra <= goal,
            )
        )
    return found
