"""What every peer script shares: the plan it is given, the timing loop, the JSON it prints.

A peer script runs in the peer environment, never in the project's interpreter, and
imports nothing from hybrid_core. It reads one JSON argument::

    {"sizes": {"chain": 200, "fanout": 1000, "io": 100}, "sleep": 0.02,
     "repeats": {"chain": 21, "fanout": 15, "io": 9}, "budget": 10.0}

runs each workload it implements once to warm up, then ``repeats`` more times, or fewer
when the warm-up run says they would take longer than ``budget`` seconds (at least one),
and prints one JSON object as its last line of output::

    {"version": "1.2.3", "variants": {"sync": {"chain": {"seconds": [...], "size": 200}}},
     "settings": {}}

A workload that raises is reported as ``{"error": "..."}`` in place of its figures, so
one failure leaves the other figures standing; one a variant does not run (its builder
raises :class:`NotRun`) as ``{"skipped": "why"}``. Every run's answer is checked, so a
figure is never the time of doing something else.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

WORKLOADS = ("chain", "fanout", "io")

Build = Callable[[str, int, float], Callable[[], Any]]
AsyncBuild = Callable[[str, int, float], Awaitable[Callable[[], Awaitable[Any]]]]


class NotRun(Exception):
    """Raised by a builder for a workload its variant does not run; the message says why."""


def plan() -> dict[str, Any]:
    """The plan given on the command line."""
    return json.loads(sys.argv[1])


def expected(workload: str, size: int) -> Any:
    """The answer of a workload run with input ``x = 1``.

    chain: ``size`` steps each adding 1; fanout: a source returning 1, ``size`` leaves
    ``i`` returning ``1 + i``, a sink summing them; io: the leaves' results, ``i`` for
    leaf ``i``, in order.
    """
    if workload == "chain":
        return 1 + size
    if workload == "fanout":
        return size + size * (size - 1) // 2
    return list(range(size))


def check(workload: str, size: int, answer: Any) -> None:
    """Raise AssertionError unless ``answer`` is the workload's answer."""
    want = expected(workload, size)
    if answer != want:
        raise AssertionError(f"{workload}: got {str(answer)[:60]}, expected {str(want)[:60]}")


def _error(exc: BaseException, doing: str = "") -> dict[str, str]:
    return {"error": f"{doing}{type(exc).__name__}: {exc}"[:300]}


def _timed_runs(given: Mapping[str, Any], workload: str, warm_up: float) -> int:
    """How many timed runs follow a warm-up run that took ``warm_up`` seconds."""
    wanted = given["repeats"][workload]
    return max(1, min(wanted, int(given["budget"] / max(warm_up, 1e-9))))


def measure(given: Mapping[str, Any], workload: str, run: Callable[[], Any]) -> dict[str, Any]:
    """Time ``run()`` after one warm-up run; check every answer."""
    size = given["sizes"][workload]
    try:
        started = time.perf_counter()
        check(workload, size, run())
        seconds = []
        for _ in range(_timed_runs(given, workload, time.perf_counter() - started)):
            started = time.perf_counter()
            answer = run()
            seconds.append(time.perf_counter() - started)
            check(workload, size, answer)
    except Exception as exc:  # noqa: BLE001 - reported in place of the figures
        return _error(exc)
    return {"seconds": seconds, "size": size}


async def ameasure(
    given: Mapping[str, Any], workload: str, run: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    """:func:`measure` for a coroutine function, on the running event loop."""
    size = given["sizes"][workload]
    try:
        started = time.perf_counter()
        check(workload, size, await run())
        seconds = []
        for _ in range(_timed_runs(given, workload, time.perf_counter() - started)):
            started = time.perf_counter()
            answer = await run()
            seconds.append(time.perf_counter() - started)
            check(workload, size, answer)
    except Exception as exc:  # noqa: BLE001 - reported in place of the figures
        return _error(exc)
    return {"seconds": seconds, "size": size}


def run_sync(given: Mapping[str, Any], build: Build) -> dict[str, Any]:
    """Measure each workload with the runner ``build(workload, size, sleep)`` returns."""
    found: dict[str, Any] = {}
    for workload in WORKLOADS:
        try:
            runner = build(workload, given["sizes"][workload], given["sleep"])
        except NotRun as why:
            found[workload] = {"skipped": str(why)}
        except Exception as exc:  # noqa: BLE001 - reported in place of the figures
            found[workload] = _error(exc, "building the graph: ")
        else:
            found[workload] = measure(given, workload, runner)
    return found


def run_async(given: Mapping[str, Any], build: AsyncBuild) -> dict[str, Any]:
    """:func:`run_sync` for builders and runners that are coroutine functions."""

    async def main() -> dict[str, Any]:
        found: dict[str, Any] = {}
        for workload in WORKLOADS:
            try:
                runner = await build(workload, given["sizes"][workload], given["sleep"])
            except NotRun as why:
                found[workload] = {"skipped": str(why)}
            except Exception as exc:  # noqa: BLE001 - reported in place of the figures
                found[workload] = _error(exc, "building the graph: ")
            else:
                found[workload] = await ameasure(given, workload, runner)
        return found

    return asyncio.run(main())


def emit(
    version: str,
    variants: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Print the figures as the last line of output, for the suite to read; ``settings``
    are what the peer reports of its own configuration (for the notes)."""
    sys.stdout.flush()
    out = {"version": version, "variants": variants, "settings": dict(settings or {})}
    print(json.dumps(out), flush=True)
