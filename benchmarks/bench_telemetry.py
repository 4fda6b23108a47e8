"""Telemetry: what an event costs with no sink, the in-memory sink, JSON lines, OpenTelemetry.

Two workloads, each run through a started `Hybrid` system: `system.aexecute` of a
trivial async engine in a loop (three events per request: the routing decision, the
call's start and stop), and one run of a 1,000-step fan-out workflow (a root step, 1,000
trivial async steps that each depend on it; two events per step, plus the run's own
two). Each case is timed from the first request (or the run's start) to the point where
every event has reached its sinks (`system.telemetry.flush()`), so a queued sink's work
in the telemetry thread is counted. The cases take turns, round after round, all in one
process; between two timings the in-memory sink is emptied and garbage is collected, so
no case pays for a heap another left behind. Figures are medians. The overhead of a sink
is its case's time minus the no-sink case's time.

The JSON lines sink writes to a file in a temporary folder. The OpenTelemetry sink (from
`hybrid-core-otel`, if installed; otherwise its rows are left out) uses the SDK's tracer
and meter providers with a span exporter that discards what it gets, so the figure is
hybrid_core's and the SDK's work, not a network's. The benchmark gives the bus a queue
large enough to hold every event, so no event is dropped and every event is paid for
(the default queue, 10,000 events, would drop what a slower sink cannot keep up with).

No sink versus no telemetry code at all: with no sink attached, emitters build nothing;
what remains is reading `bus.enabled` at each emission point. A bus whose `enabled` is a
counting property gives the number of reads per request and per step, `timeit` gives the
cost of one such read (`self.telemetry.enabled` on an object), and their product is the
whole difference between the no-sink figure and code without telemetry. That product is
set against the run-to-run noise of the no-sink figure (half the spread between its
25th and 75th percentile rounds).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Report, Table, Target, about

import hybrid_core as hc
from hybrid_core import Engine, Hybrid, InMemorySink, TelemetryBus
from hybrid_core._telemetry.jsonl import JsonlSink
from hybrid_core.testing import make_plugin

TITLE = "Telemetry overhead"
CAPABILITY = "bench.echo"
FANOUT = 1_000


async def _echo(payload: Any) -> Any:
    return payload


class CountingBus(TelemetryBus):
    """A bus that counts how often emitters ask whether anyone listens."""

    reads = 0

    @property  # type: ignore[override]
    def enabled(self) -> bool:
        CountingBus.reads += 1
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value


def _otel_sink() -> Any | None:
    try:
        from hybrid_core_otel import OtelSink
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
        from opentelemetry.sdk.trace.export import SpanExportResult as Result
    except ImportError:
        return None

    class Discard(SpanExporter):
        def export(self, spans: Sequence[Any]) -> Result:
            return Result.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Discard()))
    return OtelSink(tracer_provider=provider, meter_provider=MeterProvider())


def _sinks(folder: Path) -> dict[str, Callable[[], list[Any]]]:
    cases: dict[str, Callable[[], list[Any]]] = {
        "no sink": list,
        "in-memory": lambda: [InMemorySink()],
        "JSON lines": lambda: [JsonlSink(folder / f"bench-{time.monotonic_ns()}.jsonl")],
    }
    if _otel_sink() is not None:
        cases["OpenTelemetry"] = lambda: [_otel_sink()]
    return cases


def _system(sinks: list[Any], bus: TelemetryBus) -> Hybrid:
    engine = Engine(name="echo", capabilities={CAPABILITY: 1}, handler=_echo)
    system = Hybrid(plugins=[make_plugin("bench", engines=[engine])], entry_points=False)
    system.telemetry = bus  # before start: the router and the sinks use this bus
    for sink in sinks:
        bus.attach(sink)
    return system


def _fanout() -> hc.Workflow:
    wf = hc.Workflow("fanout")
    wf.step("root", _root)
    for n in range(FANOUT):
        wf.step(f"leaf{n}", _leaf, value=hc.result("root"))
    return wf


async def _root() -> int:
    return 1


async def _leaf(value: int) -> int:
    return value + 1


async def _requests(system: Hybrid, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        await system.aexecute(CAPABILITY, n)
    system.telemetry.flush()
    return time.perf_counter() - started


async def _workflow(system: Hybrid, wf: hc.Workflow) -> float:
    started = time.perf_counter()
    result = await system.arun(wf)
    system.telemetry.flush()
    took = time.perf_counter() - started
    if result.status.value != "succeeded":
        raise RuntimeError(f"the fan-out workflow did not succeed: {result.status}")
    return took


def _settle(system: Hybrid) -> None:
    """Between timings: drop what the memory sink kept and collect garbage, so that no
    case pays for the heap an earlier one left behind."""
    for sink in system.telemetry.sinks:
        if isinstance(sink, InMemorySink):
            sink.clear()
    gc.collect()


async def _measure(
    cases: dict[str, Callable[[], list[Any]]], rounds: int, requests: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, int]]:
    wf = _fanout()
    # A queue that holds every event: each one is paid for, none is dropped.
    systems = {name: _system(make(), TelemetryBus(capacity=10**7)) for name, make in cases.items()}
    per_request: dict[str, list[float]] = {name: [] for name in cases}
    per_run: dict[str, list[float]] = {name: [] for name in cases}
    for system in systems.values():
        await system.astart()
        await _requests(system, 200)  # warm up: caches, first-call paths
        await _workflow(system, wf)
    for _ in range(rounds):
        for name, system in systems.items():
            per_request[name].append(await _requests(system, requests) / requests)
            _settle(system)
            per_run[name].append(await _workflow(system, wf))
            _settle(system)
    dropped = {name: s.telemetry.dropped for name, s in systems.items()}
    for system in systems.values():
        await system.aclose()
    return per_request, per_run, dropped


async def _reads() -> tuple[float, float]:
    """`enabled` reads per request and per step, with no sink attached."""
    bus = CountingBus()
    system = _system([], bus)
    async with system:
        CountingBus.reads = 0
        await _requests(system, 100)
        per_request = CountingBus.reads / 100
        CountingBus.reads = 0
        await system.arun(_fanout())
        per_step = CountingBus.reads / (FANOUT + 1)
    return per_request, per_step


def _read_cost() -> float:
    """Seconds for one `self.telemetry.enabled` read, the pattern emitters use."""

    class Holder:
        def __init__(self) -> None:
            self.telemetry = TelemetryBus()

    holder = Holder()
    loop = timeit.Timer("h.telemetry.enabled", globals={"h": holder})
    empty = timeit.Timer("h", globals={"h": holder})
    number = 2_000_000
    return max(0.0, (min(loop.repeat(5, number)) - min(empty.repeat(5, number))) / number)


def _noise(samples: list[float]) -> float:
    if len(samples) < 4:
        return (max(samples) - min(samples)) / 2
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / 2


def _sink_table(
    medians: dict[str, float], events: int, dropped: dict[str, int], caption: str
) -> Table:
    base = medians["no sink"]
    rows = []
    for name, value in medians.items():
        extra = value - base
        cells = ("", "") if name == "no sink" else (us(extra), us(extra / events))
        rows.append((name, us(value), *cells, str(dropped[name])))
    headers = ("sinks", "us each", "overhead us", "overhead per event us", "events dropped")
    return Table(headers, rows, caption=caption)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


@dataclass(frozen=True)
class Check:
    """No sink against no telemetry code, for one workload."""

    what: str
    reads: float  # `enabled` reads per request or per step
    read: float  # seconds per read
    no_sink: float  # seconds per request or per step
    noise: float  # seconds

    @property
    def cost(self) -> float:
        return self.reads * self.read

    def row(self) -> tuple[str, ...]:
        ns = lambda seconds: f"{seconds * 1e9:.0f}"  # noqa: E731
        share = f"{self.cost / self.no_sink:.2%}"
        return (self.what, f"{self.reads:.1f}", ns(self.cost), ns(self.no_sink),
                ns(self.no_sink - self.cost), ns(self.noise), share)  # fmt: skip


def _check_table(checks: list[Check]) -> Table:
    headers = ("", "`enabled` reads", "their cost ns", "no sink ns",
               "without telemetry code ns", "noise ns", "share")  # fmt: skip
    caption = (
        f"No sink against no telemetry code: one read costs {checks[0].read * 1e9:.1f} ns; "
        "'without telemetry code' is the no-sink figure minus the reads' cost."
    )
    return Table(headers, [c.row() for c in checks], caption=caption)


def run(*, quick: bool) -> Report:
    rounds, requests = (3, 1_000) if quick else (15, 10_000)
    with tempfile.TemporaryDirectory(prefix="hybrid-bench-telemetry-") as folder:
        cases = _sinks(Path(folder))
        per_request, per_run, dropped = asyncio.run(_measure(cases, rounds, requests))
        reads_request, reads_step = asyncio.run(_reads())
    read = _read_cost()
    request = {k: statistics.median(v) for k, v in per_request.items()}
    step = {k: statistics.median(v) / (FANOUT + 1) for k, v in per_run.items()}
    checks = [
        Check("per request", reads_request, read, request["no sink"],
              _noise(per_request["no sink"])),
        Check("per step", reads_step, read, step["no sink"],
              _noise(per_run["no sink"]) / (FANOUT + 1)),
    ]  # fmt: skip
    notes = [
        "Per request, a sink's overhead also holds what the router does only when someone "
        "listens, beyond building the events: making the decision record with its reason "
        "in words (the request path otherwise keeps only the raw choice), and a "
        "resource-wait reporter for the call.",
        "The in-memory sink keeps every event; over a long run part of its cost is the "
        "garbage collector walking the events it keeps (emptied between rounds here).",
    ]
    if "OpenTelemetry" not in cases:
        notes.append("`hybrid-core-otel` is not installed here, so its rows are left out.")
    return Report(
        about=about(__doc__),
        runs=f"Each figure is the median of {rounds} rounds ({requests:,} requests and one "
        f"{FANOUT:,}-step run per case per round)",
        tables=[
            _sink_table(request, 3, dropped, "Per request (`system.aexecute`, 3 events each)."),
            _sink_table(step, 2, dropped, f"Per step of the {FANOUT:,}-step fan-out (2 events)."),
            _check_table(checks),
        ],
        targets=[
            Target(
                "with no sink, the telemetry checks cost less than the run-to-run noise of "
                "the no-sink figure, per request and per step",
                ", ".join(
                    f"{c.cost * 1e9:.0f} ns against {c.noise * 1e9:.0f} ns {c.what}" for c in checks
                ),
                all(c.cost < c.noise for c in checks),
            )
        ],
        notes=notes,
    )
