"""Made-up but well-formed inputs for the contract suites: candidates, stats, events.

Everything here is built from the real records (:class:`Provider`, :class:`ProviderStats`,
:class:`Event` through a real :class:`TelemetryBus`), so a provider that copes with these
copes with what a running system hands it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._core.context import ExecutionContext
from .._core.records import Engine, Provider, ProviderKind
from .._routing.strategies import ProviderStats
from .._telemetry.bus import Event, InMemorySink, TelemetryBus
from .._telemetry.names import EVENTS
from . import _samples

__all__ = ["CAPABILITY", "candidates", "documented_events", "stats"]

CAPABILITY = "contract.work"

# Events in the order a run emits them, so that a sink pairing starts with stops (spans)
# sees a coherent run; names added to the documented list later go at the end.
_RUN_ORDER = (
    "plugin.load_failed",
    "run.start",
    "step.start",
    "step.elements",
    "route.decision",
    "resource.wait",
    "engine.call.start",
    "engine.call.stop",
    "step.retry",
    "step.compensate",
    "step.stop",
    "step.skip",
    "step.undo",
    "run.stop",
)

_ATTRIBUTES: Mapping[str, Any] = {
    "workflow": "contract",
    "steps": 2,
    "inputs": ["text"],
    "resumed": False,
    "graph": {"first": [], "second": ["first"]},
    "status": "succeeded",
    "error": None,
    "completed": 2,
    "undo_errors": 0,
    "kind": "function",
    "attempts": 1,
    "elements": 3,
    "concurrency": 2,
    "attempt": 1,
    "delay": 0.05,
    "decision": "continue",
    "capability": CAPABILITY,
    "strategy": "priority",
    "candidates": ["contract.p0", "contract.p1"],
    "scores": {"contract.p0": 20.0, "contract.p1": None},
    "choice": "contract.p0",
    "reason": "priority chose 'contract.p0' (score 20)",
    "outcome": "ok",
    "pool": "cpu",
    "amount": 1.0,
    "plugin": "contract-plugin",
    "distribution": None,
    "version": None,
}
_BY_EVENT: Mapping[str, Mapping[str, Any]] = {
    "step.skip": {"status": "skipped"},
    "step.undo": {"status": "undone"},
    "step.retry": {"error": "ValueError: the first attempt failed"},
    "step.compensate": {"error": "ValueError: it failed for good"},
    "engine.call.start": {"kind": "engine"},
    "plugin.load_failed": {"error": "ImportError: no module named 'contract_plugin'"},
}


def documented_events() -> list[Event]:
    """One event per documented name, each with every documented field and attribute.

    They are emitted through a real bus from a real run context and a step context
    within it, so ids, lineage and timestamps look as a system's do.
    """
    bus, sink = TelemetryBus(), InMemorySink()
    bus.attach(sink)
    run = ExecutionContext.root(name="contract")
    step = run.child(name="first", path="first")
    names = sorted(EVENTS, key=lambda n: _RUN_ORDER.index(n) if n in _RUN_ORDER else 99)
    for name in names:
        spec = EVENTS[name]
        attributes = {key: _ATTRIBUTES.get(key, f"sample {key}") for key in spec.attributes}
        attributes.update((k, v) for k, v in _BY_EVENT.get(name, {}).items() if k in attributes)
        fields: dict[str, Any] = {}
        if "step" in spec.fields:
            fields["step"] = "first"
        if "provider" in spec.fields:
            fields["provider"] = "contract.p0"
        if "duration" in spec.fields:
            fields["duration"] = 0.002
        context: ExecutionContext | None = run if name.startswith("run.") else step
        if name == "plugin.load_failed":  # a plugin fails before any run
            context = None
        bus.emit(name, context, **fields, **attributes)
    bus.close()
    return list(sink.events)


def candidates(count: int, *, rng: random.Random | None = None) -> list[Provider]:
    """``count`` engine providers of :data:`CAPABILITY`, ordered as the router hands them
    to a strategy: highest priority first, ties in registration order."""
    rng = rng or random.Random(0)
    found = []
    for index in range(count):
        priority = rng.choice((0, 5, 10, 10, 20))
        engine = Engine(
            name=f"contract.p{index}",
            capabilities={CAPABILITY: priority},
            handler=_samples.upper,
            max_concurrency=rng.choice((None, 1, 4)),
            resources=rng.choice(({}, {"cpu": 1}, {"cpu": 2, "memory_mb": 256})),
        )
        kind, caps = ProviderKind.ENGINE, engine.capabilities
        found.append(Provider(kind, engine.name, caps, engine, "contract-plugin", seq=index))
    return sorted(found, key=lambda p: (-p.priority(CAPABILITY), p.seq))


def stats(
    providers: Sequence[Provider],
    *,
    rng: random.Random | None = None,
    cooling: bool = False,
) -> dict[str, ProviderStats]:
    """Live statistics for ``providers``: some unused, some busy, slow, or failing.

    ``cooling=True`` makes every one of them cooling down after failures in a row, what
    the router sees just before it panics and tries them all.
    """
    rng = rng or random.Random(0)
    now = time.monotonic()
    found = {}
    for provider in providers:
        target = provider.target
        s = ProviderStats(getattr(target, "max_concurrency", None))
        for _ in range(rng.choice((0, 0, 1, 5, 30))):
            ok = rng.random() > (0.9 if cooling else 0.2)
            s.record(rng.uniform(0.0, 0.5) * rng.choice((1, 1, 40)), ok, now - rng.uniform(0, 20))
        for _ in range(rng.choice((0, 1, 3))):
            s.begin(now - rng.uniform(0, 2))
        if cooling:
            s.record(0.01, False, now)
            s.consecutive_failures = max(s.consecutive_failures, 5)
            s.state, s.cooldown_until = "open", now + 30.0
        found[provider.name] = s
    return found
