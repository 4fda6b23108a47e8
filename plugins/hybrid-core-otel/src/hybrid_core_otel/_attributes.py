"""What a hybrid_core span looks like in OpenTelemetry: its name and its attributes.

Attribute values are limited to strings, booleans, numbers and lists of one of those, as
OpenTelemetry requires; everything else is turned into a string. Keys live under the
``hybrid.`` namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybrid_core import Span

__all__ = ["end_attributes", "metric_attributes", "plain", "span_name", "start_attributes"]

Attributes = dict[str, Any]

# Our attribute key -> the OpenTelemetry key, per span kind.
_KEYS: Mapping[str, Mapping[str, str]] = {
    "run": {"workflow": "hybrid.workflow", "steps": "hybrid.run.steps",
            "inputs": "hybrid.run.inputs", "resumed": "hybrid.run.resumed",
            "run_id": "hybrid.run_id", "status": "hybrid.outcome", "error": "hybrid.error",
            "completed": "hybrid.run.completed", "failed_step": "hybrid.run.failed_step"},
    "step": {"kind": "hybrid.step.kind", "provider": "hybrid.provider",
             "attempts": "hybrid.attempts", "status": "hybrid.outcome", "error": "hybrid.error"},
    "route": {"capability": "hybrid.capability", "strategy": "hybrid.strategy",
              "choice": "hybrid.provider", "reason": "hybrid.route.reason",
              "candidates": "hybrid.route.candidates", "attempt": "hybrid.attempt"},
    "call": {"provider": "hybrid.provider", "capability": "hybrid.capability",
             "attempt": "hybrid.attempt", "kind": "hybrid.provider.kind",
             "outcome": "hybrid.outcome", "error": "hybrid.error"},
    "wait": {"pool": "hybrid.resource.pool", "amount": "hybrid.resource.amount",
             "provider": "hybrid.provider"},
    "undo": {"kind": "hybrid.step.kind", "status": "hybrid.outcome", "error": "hybrid.error"},
}  # fmt: skip


def plain(value: Any) -> Any:
    """``value`` as an OpenTelemetry attribute value."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return repr(value) if not isinstance(value, Mapping) else str(dict(value))


def span_name(span: Span) -> str:
    """``run review``, ``step parse``, ``route python.parse``, ``call pyast.parse``."""
    return f"{span.kind} {span.name}"


def _mapped(span: Span) -> Attributes:
    keys = _KEYS.get(span.kind, {})
    out: Attributes = {}
    for key, value in span.attributes.items():
        if key in keys and value is not None:
            out[keys[key]] = plain(value)
    return out


def start_attributes(span: Span, workflow: str | None) -> Attributes:
    """The attributes known when ``span`` starts (``workflow``: the enclosing run's)."""
    out: Attributes = {"hybrid.span.kind": span.kind, **_mapped(span)}
    if span.kind in ("step", "undo"):
        out["hybrid.step"] = span.name
    if workflow and span.kind in ("step", "undo"):
        out["hybrid.workflow"] = workflow
    return out


def end_attributes(span: Span) -> Attributes:
    """The attributes known when ``span`` ends: the outcome and anything added since."""
    out = _mapped(span)
    out["hybrid.outcome"] = span.status
    scores = span.attributes.get("scores")
    if span.kind == "route" and isinstance(scores, Mapping):
        out["hybrid.route.scores"] = [f"{k}={v}" for k, v in scores.items()]
    return out


def metric_attributes(span: Span, workflow: str | None) -> Attributes:
    """Low-cardinality attributes for the duration histograms and failure counters."""
    a = span.attributes
    if span.kind == "step":
        found = {"hybrid.workflow": workflow, "hybrid.step": span.name,
                 "hybrid.step.kind": a.get("kind"), "hybrid.outcome": span.status}  # fmt: skip
    else:
        found = {"hybrid.provider": a.get("provider"), "hybrid.capability": a.get("capability"),
                 "hybrid.outcome": span.status}  # fmt: skip
    return {k: plain(v) for k, v in found.items() if v is not None}
