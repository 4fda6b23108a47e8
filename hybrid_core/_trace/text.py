"""The terminal view of a trace: a Gantt-like timeline, one row per span.

Each row is a run, step, routing decision, engine call, resource wait or undo, indented
under what it belongs to, with a bar placed on a common time axis, its duration, its
status and a note (the provider that served a step, the reason behind a routing
decision, an error). Rows on the critical path are marked with ``*``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .reader import Trace, critical_path, format_duration
from .spans import Span

__all__ = ["problems_text", "render_timeline"]

_FILL = {
    True: {"run": "▒", "step": "█", "route": "─", "call": "▓", "wait": "░", "undo": "▚"},
    False: {"run": "=", "step": "#", "route": "-", "call": "%", "wait": ".", "undo": "~"},
}
_MIN_BAR = 20
_MAX_LABEL = 36


def _label(span: Span, depth: int) -> str:
    return f"{'  ' * depth}{span.kind} {span.name}"


def _note(span: Span) -> str:
    a = span.attributes
    if span.kind == "route":
        return f"-> {a.get('choice', '?')}: {a.get('reason', '')}"
    parts = []
    if span.kind == "step" and a.get("provider"):
        parts.append(f"by {a['provider']}")
    attempts = a.get("attempts")
    if isinstance(attempts, int) and attempts > 1:
        parts.append(f"{attempts} attempts")
    retries = [n for n in span.notes if n.name == "step.retry"]
    if retries:
        parts.append(f"retried {len(retries)}x")
    if a.get("error"):
        parts.append(str(a["error"]))
    return ", ".join(parts)


def _bar(span: Span, t0: float, total: float, width: int, fill: str) -> str:
    end = span.end if span.end is not None else span.start
    a = int((span.start - t0) / total * width) if total > 0 else 0
    b = round((end - t0) / total * width) if total > 0 else width
    a = min(max(a, 0), width - 1)
    b = min(max(b, a + 1), width)
    return " " * a + fill * (b - a) + " " * (width - b)


def render_timeline(trace: Trace, *, width: int = 120, unicode: bool = True) -> str:
    """The trace as text, ``width`` columns wide (the bars take what the labels leave)."""
    rows = trace.rows()
    lines = [trace.summary()]
    if not rows:
        return "\n".join([*lines, "(no spans to show)"])
    marked = critical_path(trace)
    label_width = min(_MAX_LABEL, max(len(_label(s, d)) for d, s in rows))
    bar_width = max(_MIN_BAR, width - label_width - 30)
    t0, total = trace.start, trace.end - trace.start
    fills = _FILL[unicode]
    lines.append("* marks the critical path")
    lines.append(_axis(label_width, bar_width, total))
    for depth, span in rows:
        lines.append(_row(span, depth, marked, label_width, t0, total, bar_width, fills))
    return "\n".join(lines)


def _axis(label_width: int, bar_width: int, total: float) -> str:
    right = format_duration(total)
    ticks = "0" + right.rjust(bar_width - 1)
    return f"  {'':<{label_width}} {ticks}"


def _row(
    span: Span,
    depth: int,
    marked: set[str],
    label_width: int,
    t0: float,
    total: float,
    bar_width: int,
    fills: dict[str, str],
) -> str:
    label = _label(span, depth)
    if len(label) > label_width:
        label = label[: label_width - 1] + "~"
    mark = "*" if span.span_id in marked else " "
    bar = _bar(span, t0, total, bar_width, fills.get(span.kind, "#"))
    status = span.status.upper() if span.failed else span.status
    took = format_duration(span.duration) if span.kind != "route" else ""
    note = _note(span)
    text = f"{mark} {label:<{label_width}} {bar} {took:>10}  {status}"
    return f"{text}  {note}" if note else text


def problems_text(problems: Sequence[str]) -> list[str]:
    """Problems as ``warning:`` lines."""
    return [f"warning: {p}" for p in problems]
