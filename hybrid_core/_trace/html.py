"""The HTML view of a trace: one self-contained page, no network needed to view it.

The page carries the trace as a JSON block plus an inline stylesheet and script (see
:mod:`.assets`); the script builds the zoomable timeline, the details panel
(click a row or a graph node) and one workflow graph per run, coloured by outcome.
Opening ``page.html#span=<id>`` selects that span; ``#view=<from>,<to>`` (milliseconds)
opens zoomed in.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from .assets import CSS, SCRIPT
from .reader import Trace, critical_path
from .spans import Span
from .text import fold_elements

__all__ = ["render_html", "trace_data"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<div id="app"><noscript>This page draws the trace with JavaScript; enable it to see the
timeline.</noscript></div>
<script type="application/json" id="trace-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def _ms(trace_start: float, at: float | None) -> float | None:
    return None if at is None else round((at - trace_start) * 1000, 3)


def _plain(value: Any) -> Any:
    """JSON the browser can parse: mappings, lists, strings, finite numbers, null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return repr(value)


def _span_data(
    span: Span, depth: int, t0: float, marked: set[str], known: set[str]
) -> dict[str, Any]:
    inside = span.parent_id in known
    return {
        "id": span.span_id,
        # A parent outside the trace (a caller's span) is named as such, not as a link.
        "parent": span.parent_id if inside else None,
        "outside_parent": None if inside else (span.remote_parent_id or span.parent_id),
        "kind": span.kind,
        "name": span.name,
        "depth": depth,
        "start": _ms(t0, span.start),
        "end": _ms(t0, span.end),
        "duration": None if span.duration is None else round(span.duration * 1000, 3),
        "status": span.status,
        "critical": span.span_id in marked,
        "attributes": _plain(span.attributes),
        "notes": [
            {"name": n.name, "at": _ms(t0, n.timestamp), "attributes": _plain(n.attributes)}
            for n in span.notes
        ],
    }


def _run_data(run: Span, t0: float) -> dict[str, Any]:
    steps = sorted((c for c in run.children if c.kind == "step"), key=lambda s: s.start)
    names = {s.name for s in steps}
    graph = run.attributes.get("graph")
    edges = []
    if isinstance(graph, Mapping):
        edges = [[d, n] for n, deps in graph.items() for d in deps if d in names and n in names]
    nodes = [
        {
            "id": s.span_id,
            "name": s.name,
            "status": s.status,
            "start": _ms(t0, s.start),
            "end": _ms(t0, s.end or s.start),
        }
        for s in steps
    ]
    return {
        "id": run.span_id,
        "name": run.name,
        "status": run.status,
        "nodes": nodes,
        "edges": edges,
    }


def trace_data(trace: Trace, title: str = "") -> dict[str, Any]:
    """Everything the page shows, as plain data (milliseconds from the trace's start).

    The runs of a map step's elements are folded as in the text timeline (see
    :func:`.text.fold_elements`): one row with their count, ``folded`` naming its
    ``members``; each member and the rows nested in it follow, with the folds that hide
    them in ``groups`` (outermost first), for the page to show when a fold is opened.
    A run that did not succeed keeps a visible row of its own.
    """
    t0 = trace.start
    marked = critical_path(trace)
    rows = _folded_rows(trace)
    known = {span.span_id for _depth, span, _groups, _members in rows}
    spans = []
    for depth, span, groups, members in rows:
        entry = _span_data(span, depth, t0, marked, known)
        entry["groups"] = list(groups)
        if members:
            failed = sum(1 for m in members if m.status != "succeeded")
            entry["critical"] = any(m.span_id in marked for m in members)
            entry["folded"] = {
                "count": len(members),
                "failed": failed,
                "members": [m.span_id for m in members],
            }
        spans.append(entry)
    return {
        "title": title or "hybrid trace",
        "summary": trace.summary(),
        "problems": list(trace.problems),
        "total": round((trace.end - t0) * 1000, 3),
        "spans": spans,
        "runs": _graphs([s for _d, s, _g, members in rows if s.kind == "run" and not members], t0),
    }


_Row = tuple[int, Span, tuple[str, ...], list[Span]]


def _folded_rows(trace: Trace) -> list[_Row]:
    """``(depth, span, folds hiding it, members)`` for every span, and one row per fold:
    a fold's row comes first, then each member it hides (with what nests in it), so
    opening a fold shows its members right under it."""
    out: list[_Row] = []

    def visit(span: Span, depth: int, groups: tuple[str, ...]) -> None:
        out.append((depth, span, groups, []))
        for row, members in fold_elements(span):
            if not members:
                visit(row, depth + 1, groups)
                continue
            out.append((depth + 1, row, groups, members))
            inside = (*groups, row.span_id)
            for member in members:
                if member.status == "succeeded":  # the others keep rows of their own
                    visit(member, depth + 1, inside)

    for root in sorted(trace.roots, key=lambda s: s.start):
        visit(root, 0, ())
    return out


def _graphs(runs: list[Span], t0: float) -> list[dict[str, Any]]:
    """One graph per run, except the runs of a map step's elements: one graph per
    workflow and step for all of them (the first that failed, else the first that did not
    succeed, else the first),
    with how many runs it stands for."""
    out: list[dict[str, Any]] = []
    elements: dict[tuple[str | None, str], list[Span]] = {}
    for run in runs:
        if run.attributes.get("element"):
            key = (run.parent_id, run.name)
            if key not in elements:
                out.append({"element_group": key})
            elements.setdefault(key, []).append(run)
        else:
            out.append(_run_data(run, t0))
    for i, entry in enumerate(out):
        group = entry.get("element_group")
        if group is None:
            continue
        members = elements[group]
        failed = [r for r in members if r.status != "succeeded"]
        # A run that failed on its own says more than one cancelled beside it.
        pick = min(failed, key=lambda r: r.status != "failed") if failed else members[0]
        shown = _run_data(pick, t0)
        shown["runs"], shown["failed"] = len(members), len(failed)
        shown["element"] = pick.attributes.get("element")
        out[i] = shown
    return out


def _script_json(data: Mapping[str, Any]) -> str:
    import json

    text = json.dumps(data, ensure_ascii=False, default=repr)
    # Inside <script>, "</" could end the element and "<!--" open a comment.
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(trace: Trace, title: str = "") -> str:
    """The trace as one self-contained HTML page."""
    data = trace_data(trace, title)
    return _PAGE.format(
        title=html.escape(data["title"]),
        css=CSS,
        data=_script_json(data),
        script=SCRIPT,
    )
