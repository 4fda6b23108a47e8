"""Routing: what a decision costs, and how well each strategy routes under trouble.

Decision cost: a system with 2, 10 and 100 engines serving one capability; the figure is
the time of one request-path routing decision (candidates, cooldown filter, strategy,
ordering; no call), measured with ``timeit`` per strategy, beside a plain ``dict.get``.

Routing quality: three engines serve one capability, each with its own latency
distribution (log-normal, medians 2.0, 2.4 and 3.0 ms) and 16 slots (``max_concurrency``:
a call beyond that waits its turn, as on a real server). The fastest one turns ten times
slower for the second quarter of the requests; the slowest one fails 20% of its calls.
20,000 requests run at a fixed concurrency of 32 through ``system.aexecute`` with each
built-in strategy (retries 2, cooldown after 5 failures in a row) and through an oracle strategy
that knows every engine's true current median latency and orders by it times the
expected queueing. Latency is per request, end to end (retries included), in milliseconds.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
import timeit
from collections.abc import Sequence
from typing import Any

from _common import Report, Table, Target, about

from hybrid_core import Engine, Hybrid, Provider, RouteRequest, RoutingPolicy
from hybrid_core.testing import make_plugin

TITLE = "Routing"
STRATEGIES = ("priority", "round_robin", "least_loaded", "performance_based", "resource_aware")
SIZES = (2, 10, 100)
CAPABILITY = "sim.work"
MEDIANS = {"fast": 0.0020, "medium": 0.0024, "slowish": 0.0030}
SIGMA = 0.25
SLOW_FACTOR = 10.0
FAIL_RATE = 0.20
CONCURRENCY = 32
SLOTS = 16  # each engine's max_concurrency: a call waits for a slot beyond that


# -- decision cost ------------------------------------------------------------------------


def _noop(payload: Any) -> Any:
    return payload


def decision_cost(quick: bool) -> Table:
    rows = []
    number = 2_000 if quick else 20_000
    for size in SIZES:
        engines = [
            Engine(name=f"e{i}", capabilities={CAPABILITY: i % 5}, handler=_noop,
                   max_concurrency=8, resources={"cpu": 1})
            for i in range(size)
        ]  # fmt: skip
        system = Hybrid(plugins=[make_plugin("bench", engines=engines)], entry_points=False,
                        resources={"cpu": 64})  # fmt: skip
        with system:
            router = system.router
            plain = {CAPABILITY: tuple(engines)}
            base = min(timeit.repeat(lambda p=plain: p.get(CAPABILITY), number=number, repeat=5))
            row = [str(size), f"{base / number * 1e9:.0f}"]
            for name in STRATEGIES:
                strategy = router.strategy(name, CAPABILITY)
                took = min(
                    timeit.repeat(
                        lambda s=strategy, r=router: r._choose(CAPABILITY, None, None, s, None, ()),
                        number=number,
                        repeat=5,
                    )
                )
                row.append(f"{took / number * 1e6:.2f}")
            rows.append(row)
    headers = ["candidates", "`dict.get` ns", *(f"{n} us" for n in STRATEGIES)]
    return Table(headers, rows, caption="One routing decision, microseconds (best of 5).")


# -- routing quality ----------------------------------------------------------------------


class Simulation:
    """The engines' true behaviour; the request index decides the slow stretch."""

    def __init__(self, requests: int, seed: int) -> None:
        self.requests = requests
        self.rng = random.Random(seed)
        self.issued = 0
        self.in_flight = {name: 0 for name in MEDIANS}

    def slow_now(self) -> bool:
        return self.requests // 4 <= self.issued < self.requests // 2

    def median(self, name: str) -> float:
        factor = SLOW_FACTOR if name == "fast" and self.slow_now() else 1.0
        return MEDIANS[name] * factor

    def handler(self, name: str) -> Any:
        async def serve(payload: Any) -> str:
            self.in_flight[name] += 1
            try:
                await asyncio.sleep(self.median(name) * math.exp(self.rng.gauss(0, SIGMA)))
                if name == "slowish" and self.rng.random() < FAIL_RATE:
                    raise ConnectionError("simulated failure")
                return name
            finally:
                self.in_flight[name] -= 1

        serve.__name__ = f"serve_{name}"
        return serve


class Oracle:
    """Knows every engine's true current median latency (not its failures), and expects
    the same queueing as ``performance_based`` does: none until an engine's slots are
    full, then (in flight + 1) / slots service times."""

    name = "oracle"

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Any:
        def cost(p: Provider) -> float:
            stats = request.stats.get(p.name)
            waiting = max(1.0, (stats.in_flight + 1) / SLOTS) if stats else 1.0
            return self.sim.median(p.name) * waiting

        return sorted(((p, cost(p)) for p in candidates), key=lambda s: s[1])


async def simulate(strategy: str, requests: int, seed: int) -> dict[str, Any]:
    sim = Simulation(requests, seed)
    engines = [
        Engine(name=name, capabilities={CAPABILITY: 10}, handler=sim.handler(name),
               max_concurrency=SLOTS)
        for name in MEDIANS
    ]  # fmt: skip
    policy = RoutingPolicy(retries=2, backoff=0.001, max_backoff=0.01, cooldown_after=5,
                           cooldown=0.2, max_cooldown=1.0, latency_tau=1.0)  # fmt: skip
    plugin = make_plugin("sim", engines=engines, strategies=[Oracle(sim)])
    system = Hybrid(plugins=[plugin], entry_points=False, routing=policy)
    latencies: list[float] = []
    slow_latencies: list[float] = []
    failures = 0
    queue = iter(range(requests))

    async def client() -> None:
        nonlocal failures
        for _ in queue:
            slow = sim.slow_now()
            sim.issued += 1
            started = time.perf_counter()
            try:
                await system.aexecute(CAPABILITY, None, strategy=strategy)
            except Exception:  # noqa: BLE001 - counted as a failed request
                failures += 1
            took = time.perf_counter() - started
            latencies.append(took)
            if slow:
                slow_latencies.append(took)

    async with system:
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return {
        "p50": _quantile(latencies, 0.50),
        "p99": _quantile(latencies, 0.99),
        "p999": _quantile(latencies, 0.999),
        "slow_p99": _quantile(slow_latencies, 0.99),
        "success": 1 - failures / requests,
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def quality(quick: bool) -> tuple[Table, dict[str, dict[str, Any]]]:
    requests = 2_000 if quick else 20_000
    results = {}
    for name in (*STRATEGIES, "oracle"):
        runs = [asyncio.run(simulate(name, requests, seed)) for seed in (1, 2, 3)]
        results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    rows = [
        [f"`{name}`", f"{r['p50'] * 1e3:.2f}", f"{r['p99'] * 1e3:.2f}", f"{r['p999'] * 1e3:.2f}",
         f"{r['slow_p99'] * 1e3:.2f}", f"{r['success'] * 100:.3f}%"]
        for name, r in results.items()
    ]  # fmt: skip
    headers = ["strategy", "p50 ms", "p99 ms", "p99.9 ms", "p99 in slow stretch ms", "success"]
    caption = f"{requests:,} requests at concurrency {CONCURRENCY}; median of 3 seeds."
    return Table(headers, rows, caption=caption), results


def run(*, quick: bool) -> Report:
    cost = decision_cost(quick)
    table, results = quality(quick)
    perf, oracle, rr = (results[n] for n in ("performance_based", "oracle", "round_robin"))
    worst_success = min(r["success"] for r in results.values())
    targets = [
        Target(
            "`performance_based` p99 in the slow stretch within 1.5x of the oracle",
            f"{perf['slow_p99'] / oracle['slow_p99']:.2f}x",
            perf["slow_p99"] <= 1.5 * oracle["slow_p99"],
        ),
        Target(
            "`performance_based` p99 in the slow stretch at least 3x better than `round_robin`",
            f"{rr['slow_p99'] / perf['slow_p99']:.2f}x better",
            rr["slow_p99"] >= 3 * perf["slow_p99"],
        ),
        Target(
            "success rate at or above 99.9% with one engine failing 20% of calls",
            f"lowest: {worst_success * 100:.3f}%",
            worst_success >= 0.999,
        ),
    ]
    return Report(
        about=about(__doc__),
        runs="decision cost: best of 5 timeit rounds; quality: median of 3 seeded runs",
        tables=[cost, table],
        targets=targets,
    )
