"""The documented list of telemetry event names and their attributes.

This list is a contract with sink authors and with recorded traces: adding an event or an
attribute is fine (bump nothing, note it in the changelog); renaming or removing one is a
breaking change and bumps :data:`EVENTS_VERSION`. ``docs/telemetry.md`` documents each
entry, and a test checks that every name emitted in ``hybrid_core`` is listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["EVENTS", "EVENTS_VERSION", "EventSpec"]

EVENTS_VERSION = 1


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class EventSpec:
    """One documented event: its name, what it means, the Event fields and attributes it sets.

    ``fields`` names the optional :class:`Event` fields it fills (``step``, ``provider``,
    ``duration``); ``attributes`` maps each attribute key to its meaning.
    """

    name: str
    summary: str
    fields: tuple[str, ...] = ()
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    since: int = 1


_STEP_END = {
    "kind": "the step kind (function, compose, map, switch, ...)",
    "status": "the step's status (succeeded, failed, skipped, compensated, undone, ...)",
    "attempts": "attempts made",
    "error": "the error, as 'Type: message', or null",
}

_SPECS = (
    EventSpec(
        "run.start",
        "A workflow run starts (nested runs too, in the context of their step).",
        (),
        {
            "workflow": "the workflow's name",
            "steps": "how many steps it has",
            "inputs": "the names of the inputs given",
            "resumed": "true when the run resumes an earlier one",
            "graph": "each step's name -> the names of the steps it waits for",
        },
    ),
    EventSpec(
        "run.stop",
        "A workflow run ends, whatever its outcome.",
        ("step", "duration"),
        {
            "workflow": "the workflow's name",
            "status": "succeeded, failed, halted or cancelled",
            "error": "the run's error, as 'Type: message', or null",
            "completed": "how many steps completed",
            "undo_errors": "how many undos raised during rollback",
        },
    ),
    EventSpec(
        "step.start", "A step starts (its first attempt).", ("step",), {"kind": "the step kind"}
    ),
    EventSpec(
        "step.stop",
        "A step ends: succeeded, failed, compensated, halted or cancelled.",
        ("step", "provider", "duration"),
        _STEP_END,
    ),
    EventSpec(
        "step.elements",
        "A map step has its elements and starts on them (in the step's own context).",
        ("step",),
        {
            "kind": "the step kind (map)",
            "elements": "how many elements it maps over",
            "concurrency": "how many run at once, at most",
        },
    ),
    EventSpec(
        "step.retry",
        "An attempt of a step failed and it will be tried again after a delay.",
        ("step",),
        {
            "kind": "the step kind",
            "attempt": "the attempt that failed (1 for the first)",
            "delay": "seconds until the next attempt",
            "error": "the attempt's error, as 'Type: message'",
        },
    ),
    EventSpec(
        "step.skip",
        "A step's where-predicate was false, so it did not run.",
        ("step", "provider", "duration"),
        _STEP_END,
    ),
    EventSpec(
        "step.compensate",
        "A failed step's compensation ran and decided what happens next.",
        ("step",),
        {
            "kind": "the step kind",
            "attempt": "the attempt that failed",
            "decision": "continue, retry, fail, or raised",
            "error": "the failure being compensated, as 'Type: message'",
        },
    ),
    EventSpec(
        "step.undo",
        "A completed step was undone while its run rolled back.",
        ("step", "provider", "duration"),
        _STEP_END,
    ),
    EventSpec(
        "route.decision",
        "The router chose a provider for one attempt of a capability request.",
        ("provider",),
        {
            "capability": "the capability requested",
            "strategy": "the strategy that ordered the candidates",
            "candidates": "every candidate provider, by priority",
            "scores": "provider -> the strategy's score (null when it gives none)",
            "choice": "the provider chosen (also the event's provider)",
            "reason": "why, in words: the strategy's verdict, cooldowns, panic, avoidance",
            "attempt": "the attempt this decision is for (1 for the first)",
        },
    ),
    EventSpec(
        "engine.call.start",
        "A provider is called, after its resources and a concurrency slot were acquired.",
        ("provider",),
        {
            "capability": "the capability served, or null for a direct call",
            "attempt": "the attempt number",
            "kind": "the provider kind: engine, workflow or hybrid",
        },
    ),
    EventSpec(
        "engine.call.stop",
        "A provider call ended.",
        ("provider", "duration"),
        {
            "capability": "the capability served, or null for a direct call",
            "attempt": "the attempt number",
            "outcome": "ok, error, or cancelled (its caller stopped waiting for it)",
            "error": "present when the outcome is error: 'Type: message'",
        },
    ),
    EventSpec(
        "resource.wait",
        "A call waited for a resource pool (or its provider's concurrency limit).",
        ("provider", "duration"),
        {"pool": "the pool waited for", "amount": "how much of it the call needed"},
    ),
    EventSpec(
        "plugin.load_failed",
        "A plugin failed to load, register or start; the others carry on.",
        (),
        {
            "plugin": "the plugin's entry-point name",
            "distribution": "its distribution, or null",
            "version": "its distribution's version, or null",
            "error": "what went wrong",
        },
    ),
)

EVENTS: Mapping[str, EventSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every event name hybrid_core emits, with its documented fields and attributes."""
