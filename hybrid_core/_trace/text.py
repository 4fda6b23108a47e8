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

__all__ = ["fold_elements", "problems_text", "render_timeline"]

_FILL = {
    True: {"run": "▒", "step": "█", "route": "─", "call": "▓", "wait": "░", "undo": "▚"},
    False: {"run": "=", "step": "#", "route": "-", "call": "%", "wait": ".", "undo": "~"},
}
_MIN_BAR = 10
_MAX_LABEL = 36


def _label(span: Span, depth: int) -> str:
    element = span.attributes.get("element") if span.kind == "run" else None
    name = f"{span.name} {element}" if element else span.name
    return f"{'  ' * depth}{span.kind} {name}"


def _note(span: Span) -> str:
    a = span.attributes
    if "folded" in a:
        return str(a["folded"])
    if span.kind == "route":
        return f"-> {a.get('choice', '?')}: {a.get('reason', '')}"
    parts = []
    if span.kind == "step" and a.get("provider"):
        parts.append(f"by {a['provider']}")
    if span.kind == "step" and isinstance(a.get("elements"), int):
        parts.append(f"{a['elements']} elements")
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


def render_timeline(
    trace: Trace,
    *,
    width: int = 120,
    unicode: bool = True,
    depth: int | None = None,
    match: str | None = None,
    expand: bool = False,
) -> str:
    """The trace as text, at most ``width`` columns wide (the bars take what the labels
    leave).

    The runs of a map step's elements are one row with their count (``run review_file
    x58``), unless ``expand``; element runs that did not succeed keep a row each.
    ``depth`` leaves out rows nested deeper than it (0: the top-level runs only);
    ``match`` keeps the rows whose label contains it, with the rows they sit in and the
    rows nested in them.
    """
    rows = _visible(trace, depth=depth, match=match, expand=expand)
    lines = [trace.summary()]
    if not rows:
        return "\n".join([*lines, "(no spans to show)"])
    marked = critical_path(trace)
    label_width = min(_MAX_LABEL, max(len(_label(s, d)) for d, s in rows), max(12, width // 3))
    bar_width = max(_MIN_BAR, (width - label_width - 28) // 2)  # the rest: notes
    t0, total = trace.start, trace.end - trace.start
    fills = _FILL[unicode]
    lines.append("* marks the critical path")
    lines.append(_axis(label_width, bar_width, total))
    for d, span in rows:
        lines.append(_row(span, d, marked, label_width, t0, total, bar_width, fills))
    return "\n".join(line[:width] for line in lines)


def _visible(
    trace: Trace, *, depth: int | None, match: str | None, expand: bool
) -> list[tuple[int, Span]]:
    """The rows to draw: ``(depth, span)``, element runs folded unless ``expand``."""
    out: list[tuple[int, Span]] = []

    def wanted(span: Span, level: int) -> bool:
        if match is None:
            return True
        if match in _label(span, 0):
            return True
        return any(wanted(child, level + 1) for child in span.children)

    def visit(span: Span, level: int, shown: bool) -> None:
        if (depth is not None and level > depth) or not (shown or wanted(span, level)):
            return
        out.append((level, span))
        inside = shown or (match is not None and match in _label(span, 0))
        for child in _children(span, expand):
            visit(child, level + 1, inside)

    for root in sorted(trace.roots, key=lambda s: s.start):
        visit(root, 0, match is None)
    return out


def _children(span: Span, expand: bool) -> list[Span]:
    """``span``'s children in start order, its element runs folded into one summary span
    per workflow (those that did not succeed stay, after it)."""
    if expand:
        return sorted(span.children, key=lambda s: s.start)
    return [row for row, _members in fold_elements(span)]


def fold_elements(span: Span) -> list[tuple[Span, list[Span]]]:
    """``span``'s children in start order as ``(row, members)``, the runs of a map step's
    elements folded: one summary span per workflow stands where its first run was, with
    every run it stands for as its members; a run that did not succeed also keeps its
    own row (with no members), where it was. An ordinary child has no members; a
    workflow with a single element run is not folded.

    The text timeline and the HTML page both fold with this.
    """
    children = sorted(span.children, key=lambda s: s.start)
    groups: dict[str, list[Span]] = {}
    for child in children:
        if child.kind == "run" and child.attributes.get("element"):
            groups.setdefault(child.name, []).append(child)
    folded = {id(c) for runs in groups.values() if len(runs) > 1 for c in runs}
    if not folded:
        return [(child, []) for child in children]
    out: list[tuple[Span, list[Span]]] = []
    for child in children:
        if id(child) not in folded:
            out.append((child, []))
            continue
        runs = groups[child.name]
        if child is runs[0]:
            out.append((_fold(runs), runs))
        if child.status != "succeeded":
            out.append((child, []))  # what went wrong stays visible
    return out


def _fold(runs: list[Span]) -> Span:
    ends = [r.end for r in runs if r.end is not None]
    failed = sum(1 for r in runs if r.status != "succeeded")
    slowest = max(runs, key=lambda r: r.duration or 0.0)
    note = f"{len(runs)} element runs; slowest {slowest.attributes.get('element')}"
    if slowest.duration is not None:
        note += f" {format_duration(slowest.duration)}"
    if failed:
        note += f"; {failed} did not succeed (below)"
    return Span(
        span_id=f"{runs[0].span_id}+{len(runs)}",
        trace_id=runs[0].trace_id,
        parent_id=runs[0].parent_id,
        kind="run",
        name=f"{runs[0].name} x{len(runs)}",
        start=min(r.start for r in runs),
        end=max(ends) if ends else None,
        status="failed" if failed else "succeeded",
        attributes={"folded": note},
    )


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
