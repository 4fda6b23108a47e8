"""Reading recorded traces (JSON lines files) back into events and spans.

A trace file starts with a header line (format, version, recording id, part) and holds
one event per line. Reading is forgiving where it can be and says what it did: a
truncated last line, lines that are not JSON, a missing header, a newer format version
or unfinished runs become :attr:`Trace.problems` and everything readable is shown. Only
a file with nothing readable in it raises :class:`TraceError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._telemetry.bus import Event
from .._telemetry.jsonl import TRACE_FORMAT, TRACE_VERSION, event_from_dict
from ..exceptions import HybridCoreError
from .spans import Span, SpanBuilder

__all__ = [
    "Trace",
    "TraceError",
    "build_trace",
    "critical_path",
    "format_duration",
    "read_trace",
]

_TOLERANCE = 0.0


class TraceError(HybridCoreError, ValueError):
    """A file cannot be read as a trace at all; ``path`` names it."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


@attrs.define(eq=False)
class Trace:
    """A recording read back: its events, the spans rebuilt from them, and any problems."""

    events: list[Event]
    roots: list[Span]
    problems: list[str] = attrs.Factory(list)
    header: Mapping[str, Any] | None = None
    files: list[str] = attrs.Factory(list)
    notes: list[Event] = attrs.Factory(list)

    @property
    def start(self) -> float:
        return min((s.start for s in self.roots), default=0.0)

    @property
    def end(self) -> float:
        return max((s.end or s.start for s in self.roots), default=self.start)

    @property
    def trace_ids(self) -> list[str]:
        return list(dict.fromkeys(s.trace_id for s in self.roots if s.trace_id))

    def spans(self) -> Iterator[Span]:
        """Every span, depth first, roots and children in start order."""
        for root in sorted(self.roots, key=lambda s: s.start):
            yield from root.walk()

    def count(self, kind: str) -> int:
        """How many spans of ``kind`` (run, step, route, call, wait, undo) there are."""
        return sum(1 for s in self.spans() if s.kind == kind)

    def rows(self) -> list[tuple[int, Span]]:
        """``(depth, span)`` for every span, in the order :meth:`spans` gives."""
        out: list[tuple[int, Span]] = []

        def visit(span: Span, depth: int) -> None:
            out.append((depth, span))
            for child in sorted(span.children, key=lambda s: s.start):
                visit(child, depth + 1)

        for root in sorted(self.roots, key=lambda s: s.start):
            visit(root, 0)
        return out

    def summary(self) -> str:
        """One line: the trace id, how many runs, steps, decisions and calls, how long."""
        counts = [
            (self.count("run"), "run"),
            (self.count("step"), "step"),
            (self.count("route"), "routing decision"),
            (self.count("call"), "engine call"),
        ]
        parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in counts if n]
        ids = self.trace_ids
        head = f"trace {ids[0]}" if len(ids) == 1 else f"{len(ids)} traces"
        took = format_duration(self.end - self.start)
        return f"{head}: {', '.join(parts) or 'no spans'} over {took}"


def format_duration(seconds: float | None) -> str:
    """``0.42 ms``, ``123.4 ms``, ``1.234 s``; an empty string for None."""
    if seconds is None:
        return ""
    if seconds < 0.001:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.3f} s"


def read_trace(*paths: str | os.PathLike[str]) -> Trace:
    """Read one recording from ``paths`` (one file, or its rotated parts in order).

    Given one file that is a later part of a rotated recording, the earlier parts
    (``path.1``, ``path.2``, ...) with the same recording id are read first.
    """
    if not paths:
        raise ValueError("read_trace() needs at least one path")
    files = [Path(p) for p in paths]
    if len(files) == 1:
        files = _with_earlier_parts(files[0])
    events: list[Event] = []
    problems: list[str] = []
    header: Mapping[str, Any] | None = None
    for path in files:
        found, lines, more = _read_file(path)
        header = header or found
        events += lines
        problems += more
    return build_trace(events, header=header, problems=problems, files=[str(f) for f in files])


def build_trace(
    events: Sequence[Event],
    *,
    header: Mapping[str, Any] | None = None,
    problems: Sequence[str] = (),
    files: Sequence[str] = (),
) -> Trace:
    """A Trace from events already in memory (an InMemorySink's, say)."""
    builder = SpanBuilder().add_all(events)
    unfinished = builder.finish()
    found = list(problems)
    for span in unfinished:
        if span.kind in ("run", "step", "call") and span.status == "unfinished":
            found.append(
                f"{span.kind} {span.name!r} has no end: the recording stops before it "
                "finished (it was cut off, or the run was still going)"
            )
    if builder.unknown:
        names = ", ".join(sorted(builder.unknown))
        count = sum(builder.unknown.values())
        found.append(f"skipped {count} event(s) this version does not know: {names}")
    return Trace(list(events), builder.roots, found, header, list(files), builder.notes)


# -- files --------------------------------------------------------------------------------


def _loads(line: str) -> Any:
    import json

    return json.loads(line)


def _header_of(path: Path) -> Mapping[str, Any] | None:
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline()
        data = _loads(first)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == TRACE_FORMAT else None


def _with_earlier_parts(path: Path) -> list[Path]:
    header = _header_of(path)
    part = header.get("part") if header is not None else None
    if header is None or not isinstance(part, int) or part <= 1:
        return [path]
    earlier: list[Path] = []
    for n in range(1, part):
        candidate = path.with_name(f"{path.name}.{n}")
        found = _header_of(candidate)
        if found is None or found.get("recording") != header.get("recording"):
            break
        earlier.insert(0, candidate)
    return [*earlier, path]


def _read_file(path: Path) -> tuple[Mapping[str, Any] | None, list[Event], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(
            path, "no such file; record one with 'hybrid run ... --trace FILE'"
        ) from None
    except UnicodeDecodeError:
        raise TraceError(path, "is not a text file, so not a hybrid_core trace") from None
    except OSError as exc:
        raise TraceError(path, f"cannot be read: {exc.strerror}") from None
    lines = text.splitlines(keepends=True)
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        raise TraceError(path, "is empty: nothing was recorded")
    header, problems, body = _header(path, numbered)
    events, more = _events(path, body, truncated_ok=not text.endswith("\n"))
    problems += more
    if header is not None and not events and not more:
        problems.append(f"{path}: the recording holds no events")
    return header, events, problems


def _header(
    path: Path, numbered: list[tuple[int, str]]
) -> tuple[Mapping[str, Any] | None, list[str], list[tuple[int, str]]]:
    first_no, first = numbered[0]
    try:
        data = _loads(first)
    except ValueError:
        raise TraceError(path, f"is not a hybrid_core trace: line {first_no} is not JSON") from None
    if not isinstance(data, dict):
        raise TraceError(path, f"is not a hybrid_core trace: line {first_no} is not an object")
    if "format" in data:
        if data["format"] != TRACE_FORMAT:
            raise TraceError(path, f"is a {data['format']!r} file, not a {TRACE_FORMAT!r} trace")
        return data, _version_problems(path, data), numbered[1:]
    if "name" in data and "timestamp" in data:
        note = f"{path}: has no header line (not written by the jsonl sink?); reading its events"
        return None, [note], numbered
    raise TraceError(
        path, f"is not a hybrid_core trace: line {first_no} is neither a header nor an event"
    )


def _version_problems(path: Path, header: Mapping[str, Any]) -> list[str]:
    version = header.get("version")
    if not isinstance(version, int):
        return [f"{path}: its header has no format version; reading it as version {TRACE_VERSION}"]
    if version > TRACE_VERSION:
        return [
            f"{path}: written by a newer hybrid_core (trace format version {version}; this "
            f"one reads version {TRACE_VERSION}); showing what this version understands"
        ]
    return []


def _events(
    path: Path, body: list[tuple[int, str]], *, truncated_ok: bool
) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    bad: list[str] = []
    problems: list[str] = []
    for index, (number, line) in enumerate(body):
        try:
            data = _loads(line)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            events.append(event_from_dict(data))
        except ValueError as exc:
            if index == len(body) - 1 and truncated_ok:
                problems.append(
                    f"{path}: the last line ({number}) is cut off: the recording was "
                    f"truncated; showing the {len(events)} event(s) before it"
                )
            else:
                bad.append(f"line {number} ({exc})")
    if bad:
        shown = "; ".join(bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        problems.append(f"{path}: skipped {len(bad)} line(s) that are not events: {shown}")
    return events, problems


# -- the critical path --------------------------------------------------------------------


def critical_path(trace: Trace) -> set[str]:
    """The span ids on the critical path of every run in ``trace``.

    In a run, the path ends at the step that finished last and walks back through the
    step each one waited for: its dependency that finished last when the run recorded
    its graph (a ``graph`` attribute, step -> dependencies), otherwise the step that
    finished last before it started. Inside a step, the path follows the child (routing
    decision, call, nested run) that finished last.
    """
    marked: set[str] = set()
    for root in trace.roots:
        _mark(root, marked)
    return marked


def _mark(span: Span, marked: set[str]) -> None:
    marked.add(span.span_id)
    done = [c for c in span.children if c.end is not None and c.kind != "undo"]
    if span.kind == "run":
        for step in _chain([c for c in done if c.kind == "step"], span.attributes.get("graph")):
            _mark(step, marked)
    elif done:
        _mark(max(done, key=_finish), marked)


def _chain(steps: list[Span], graph: object) -> list[Span]:
    ran = [s for s in steps if s.status != "skipped"]
    if not ran:
        return []
    by_name = {s.name: s for s in ran}
    current = max(ran, key=_finish)
    chain = [current]
    while True:
        if isinstance(graph, Mapping):
            deps = [by_name[d] for d in graph.get(current.name, ()) if d in by_name]
        else:
            deps = [s for s in ran if _before(s, current)]
        deps = [d for d in deps if d not in chain]  # a malformed graph must not loop
        if not deps:
            return chain
        current = max(deps, key=_finish)
        chain.append(current)


def _finish(span: Span) -> tuple[float, float]:
    return (span.end or 0.0, span.start)


def _before(span: Span, later: Span) -> bool:
    """True when ``span`` ended by the time ``later`` started (it may have fed it)."""
    return span.start < later.start and (span.end or 0.0) <= later.start + _TOLERANCE
