"""Spans rebuilt from telemetry events: runs, steps, routing decisions, engine calls.

A :class:`SpanBuilder` takes events in emission order and keeps a tree of
:class:`Span` objects, calling ``on_start``/``on_end`` as spans open and close, so the
same code serves a recorded trace (``hybrid trace``) and a live exporter (OpenTelemetry).

Ids: a run's span is its context's span, an engine call's span is its call context's
span, and the trace id is the context's, so a span means the same thing everywhere. Steps,
routing decisions, waits and undos have no context of their own, so their ids are derived
(a hash of the enclosing context's span and their name), the same for every reader of the
same events. Nesting follows each event's ``lineage``: work started inside a step (a
routed call, a composed or mapped workflow) runs in a context that is a child of the run's
context, named after the step, and that is how it lands under the step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from .._telemetry.bus import REMOTE, Event, Lineage

__all__ = ["Span", "SpanBuilder", "derive_span_id"]

Hook = Callable[["Span"], None]
_STEP_ENDS = ("step.stop", "step.skip")


def derive_span_id(*parts: object) -> str:
    """A stable 16-hex-digit span id for ``parts`` (never all zeros, as W3C requires)."""
    import hashlib

    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()
    return digest if digest.strip("0") else "0000000000000001"


@attrs.define(eq=False, repr=False)
class Span:
    """One timed piece of work. ``kind``: run, step, route, call, wait or undo.

    ``start`` and ``end`` are wall-clock seconds; ``end`` is None while it is open.
    ``status``: running, succeeded, failed, skipped, compensated, halted, cancelled, ok,
    error, undone, undo_failed, or unfinished (the events stop before its end).
    ``notes`` are the events that happened inside it (retries, compensations).
    """

    span_id: str
    trace_id: str | None
    parent_id: str | None
    kind: str
    name: str
    start: float
    end: float | None = None
    status: str = "running"
    attributes: dict[str, Any] = attrs.Factory(dict)
    notes: list[Event] = attrs.Factory(list)
    children: list[Span] = attrs.Factory(list)
    remote_parent_id: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - self.start)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "error", "undo_failed", "cancelled")

    def walk(self) -> Iterator[Span]:
        """This span and every span under it, depth first, children in start order."""
        yield self
        for child in sorted(self.children, key=lambda s: s.start):
            yield from child.walk()

    def __repr__(self) -> str:
        return f"<Span {self.kind} {self.name!r} {self.status} id={self.span_id}>"


def _noop(_span: Span) -> None:
    pass


class SpanBuilder:
    """Builds spans from events fed to :meth:`add` in the order they were emitted.

    ``on_start(span)`` is called when a span opens and ``on_end(span)`` when it closes
    (both at once for spans known only when they end). With ``keep=False`` closed spans
    are forgotten once their run or call ends, so a long-lived exporter does not grow.
    Events this builder does not know are counted in :attr:`unknown`.
    """

    def __init__(
        self, *, on_start: Hook | None = None, on_end: Hook | None = None, keep: bool = True
    ) -> None:
        self.on_start = on_start or _noop
        self.on_end = on_end or _noop
        self.keep = keep
        self.roots: list[Span] = []
        self.spans: dict[str, Span] = {}
        self.unknown: dict[str, int] = {}
        self.notes: list[Event] = []
        self.last = 0.0
        self._runs: dict[str, Span] = {}
        self._steps: dict[tuple[str, str], Span] = {}
        self._routes: dict[tuple[str | None, Any, Any], Span] = {}
        self._latest_route: dict[str | None, Span] = {}
        self._calls: dict[str, Span] = {}
        self._open: dict[str, Span] = {}
        self._open_kids: dict[str, set[str]] = {}
        self._handlers: dict[str, Callable[[Event], object]] = {
            "run.start": self._run_start,
            "run.stop": self._run_stop,
            "step.start": self._step_start,
            "step.stop": self._step_stop,
            "step.skip": self._step_stop,
            "step.retry": self._step_note,
            "step.elements": self._step_elements,
            "step.compensate": self._step_note,
            "step.undo": self._step_undo,
            "route.decision": self._route,
            "engine.call.start": self._call_start,
            "engine.call.stop": self._call_stop,
            "resource.wait": self._wait,
            "plugin.load_failed": self.notes.append,
        }

    def add(self, event: Event) -> None:
        """Take the next event."""
        self.last = max(self.last, event.timestamp)
        handler = self._handlers.get(event.name)
        if handler is None:
            self.unknown[event.name] = self.unknown.get(event.name, 0) + 1
            return
        handler(event)

    def add_all(self, events: Iterable[Event]) -> SpanBuilder:
        """Take every event of ``events``; returns the builder."""
        for event in events:
            self.add(event)
        return self

    def finish(self) -> list[Span]:
        """Close every span still open as ``unfinished``, at the last event's time (a
        recording cut off, a system closed mid-run); returns them, oldest first."""
        left = sorted(self._open.values(), key=lambda s: s.start)
        for span in left:
            self._close(span, max(span.start, self.last), "unfinished")
        return left

    # -- resolving parents ----------------------------------------------------------------

    def _chain(self, event: Event) -> Lineage:
        if event.lineage:
            return event.lineage
        if event.span_id is None:
            return ()
        parent = ((event.parent_span_id, ""),) if event.parent_span_id else ()
        return ((event.span_id, ""), *parent)

    def _parent(self, event: Event, *, skip_self: bool) -> Span | None:
        """The innermost span enclosing the context that emitted ``event``."""
        chain = self._chain(event)
        for i, (span_id, _name) in enumerate(chain):
            if i == 0 and skip_self:
                continue
            call = self._calls.get(span_id)
            if call is not None:
                return call
            run = self._runs.get(span_id)
            if run is not None:
                # The context just inside a run's is a step's, named after the step.
                step = self._steps.get((span_id, chain[i - 1][1])) if i > 0 else None
                return step or run
        return None

    def _run_of(self, event: Event) -> tuple[str, Span | None]:
        """The innermost run enclosing ``event``: (its context's span id, its span)."""
        for span_id, _name in self._chain(event):
            run = self._runs.get(span_id)
            if run is not None:
                return span_id, run
        return event.span_id or "", None

    @staticmethod
    def _remote(event: Event) -> str | None:
        """The span of the remote caller whose trace the event's context continues."""
        if not event.lineage:
            return event.parent_span_id
        span_id, name = event.lineage[-1]
        return span_id if name == REMOTE else None

    @staticmethod
    def _caller(event: Event) -> str | None:
        """The span of the context that made the one emitting ``event``."""
        return event.lineage[1][0] if len(event.lineage) > 1 else event.parent_span_id

    # -- opening and closing --------------------------------------------------------------

    def _open_span(
        self,
        event: Event,
        kind: str,
        name: str,
        span_id: str,
        parent: Span | None,
        attributes: dict[str, Any],
    ) -> Span:
        if span_id in self._open or (self.keep and span_id in self.spans):
            span_id = derive_span_id(span_id, kind, name, event.timestamp)
        span = Span(
            span_id,
            event.trace_id,
            parent.span_id if parent else None,
            kind,
            name,
            event.start,
            attributes={k: v for k, v in attributes.items() if v is not None},
        )
        if parent is None:
            span.remote_parent_id = self._remote(event)
        if self.keep:
            (parent.children if parent is not None else self.roots).append(span)
            self.spans[span_id] = span
        self._open[span_id] = span
        if span.parent_id is not None:
            self._open_kids.setdefault(span.parent_id, set()).add(span_id)
        self.on_start(span)
        return span

    def _close(self, span: Span, end: float, status: str | None = None) -> None:
        if self._open.pop(span.span_id, None) is None:
            return
        # Work still open inside a span that ends did not finish (a call refused before it
        # started, a lost event): close it first, so nothing outlives its parent.
        for kid in self._open_kids.pop(span.span_id, ()):
            child = self._open.get(kid)
            if child is not None:
                self._close(child, end, "unfinished")
        if span.parent_id is not None:
            self._open_kids.get(span.parent_id, set()).discard(span.span_id)
        span.end = max(end, span.start)
        if status is not None:
            span.status = status
        self.on_end(span)

    @staticmethod
    def _merge(span: Span, event: Event) -> None:
        span.attributes.update({k: v for k, v in event.attributes.items() if v is not None})

    # -- runs and steps -------------------------------------------------------------------

    def _run_start(self, event: Event) -> Span:
        name = str(event.attributes.get("workflow") or "run")
        key = event.span_id or derive_span_id(event.timestamp, "run", name)
        parent = self._parent(event, skip_self=True)
        attributes = {"run_id": event.run_id, **event.attributes}
        element = _element_label(event)
        if element is not None:
            attributes["element"] = element
        span = self._open_span(event, "run", name, key, parent, attributes)
        self._runs[key] = span
        return span

    def _run_stop(self, event: Event) -> None:
        key = event.span_id or ""
        run = self._runs.get(key)
        if run is None or run.end is not None:
            run = self._run_start(event)  # its start was not recorded: show what is known
        self._merge(run, event)
        if event.step:
            run.attributes["failed_step"] = event.step
        self._close(run, event.timestamp, str(event.attributes.get("status") or "succeeded"))
        if not self.keep:
            self._runs.pop(key, None)
            for step_key in [k for k in self._steps if k[0] == key]:
                del self._steps[step_key]

    def _step_start(self, event: Event) -> Span:
        key, run = self._run_of(event)
        name = event.step or "?"
        own = event.span_id if event.span_id and event.span_id not in self._runs else None
        span_id = own or derive_span_id(key, "step", name)
        attributes = {"kind": event.attributes.get("kind")}
        span = self._open_span(event, "step", name, span_id, run, attributes)
        self._steps[(key, name)] = span
        return span

    def _step_stop(self, event: Event) -> None:
        key, _run = self._run_of(event)
        span = self._steps.get((key, event.step or "?"))
        if span is None or span.end is not None:
            span = self._step_start(event)
        self._merge(span, event)
        if event.provider:
            span.attributes["provider"] = event.provider
        default = "skipped" if event.name == "step.skip" else "succeeded"
        self._close(span, event.timestamp, str(event.attributes.get("status") or default))

    def _step_note(self, event: Event) -> None:
        key, _run = self._run_of(event)
        span = self._steps.get((key, event.step or "?"))
        if span is not None:
            span.notes.append(event)

    def _step_elements(self, event: Event) -> None:
        """A map step's element count; the event comes from the step's own context,
        whose parent is the run's."""
        span = self._steps.get((event.parent_span_id or "", event.step or "?"))
        if span is not None:
            span.attributes["elements"] = event.attributes.get("elements")

    def _step_undo(self, event: Event) -> None:
        key, run = self._run_of(event)
        name = event.step or "?"
        span_id = derive_span_id(key, "undo", name)
        span = self._open_span(event, "undo", name, span_id, run, dict(event.attributes))
        self._close(span, event.timestamp, str(event.attributes.get("status") or "undone"))

    # -- routing and calls ----------------------------------------------------------------

    def _route(self, event: Event) -> None:
        a = event.attributes
        key = (event.span_id, a.get("capability"), a.get("attempt"))
        earlier = self._routes.get(key)
        if earlier is not None:
            self._close(earlier, event.timestamp)
        span_id = derive_span_id(event.span_id, "route", key[1], key[2], event.timestamp)
        parent = self._parent(event, skip_self=False)
        name = str(a.get("capability") or "route")
        span = self._open_span(event, "route", name, span_id, parent, dict(a))
        span.status = "deciding"
        self._routes[key] = span
        self._latest_route[event.span_id] = span

    def _call_parent(self, event: Event) -> Span | None:
        a = event.attributes
        route = self._routes.get((self._caller(event), a.get("capability"), a.get("attempt")))
        if (
            route is not None
            and route.end is None
            and route.attributes.get("choice")
            in (
                None,
                event.provider,
            )
        ):
            return route
        return self._parent(event, skip_self=True)

    def _call_start(self, event: Event) -> Span:
        key = event.span_id or derive_span_id(event.timestamp, "call", event.provider)
        attributes = {"provider": event.provider, **event.attributes}
        name = event.provider or "call"
        span = self._open_span(event, "call", name, key, self._call_parent(event), attributes)
        self._calls[key] = span
        return span

    def _call_stop(self, event: Event) -> None:
        span = self._calls.get(event.span_id or "")
        if span is None or span.end is not None:
            span = self._call_start(event)
        self._merge(span, event)
        status = str(event.attributes.get("outcome") or "ok")
        self._close(span, event.timestamp, status)
        parent = self._open.get(span.parent_id or "")
        if parent is not None and parent.kind == "route":
            # A decision ends with the call it chose, and fails with it.
            if "error" in span.attributes:
                parent.attributes["error"] = span.attributes["error"]
            self._close(parent, event.timestamp, status)
        if not self.keep:
            self._calls.pop(event.span_id or "", None)
            for key in [k for k, v in self._routes.items() if v.span_id == span.parent_id]:
                route = self._routes.pop(key)
                if self._latest_route.get(key[0]) is route:
                    del self._latest_route[key[0]]

    def _wait(self, event: Event) -> None:
        pool = event.attributes.get("pool")
        route = self._latest_route.get(self._caller(event))
        parent = route if route is not None and route.end is None else None
        parent = parent or self._parent(event, skip_self=True)
        span_id = derive_span_id(event.span_id, "wait", pool, event.timestamp)
        attributes = {"provider": event.provider, **event.attributes}
        span = self._open_span(event, "wait", f"wait {pool}", span_id, parent, attributes)
        self._close(span, event.timestamp, "ok")


def _element_label(event: Event) -> str | None:
    """``files[3]`` for the run of a map step's element: the context it runs in is named
    after the step and the element's index (the run's own context is innermost)."""
    if len(event.lineage) < 2:
        return None
    label = event.lineage[1][1]
    name, bracket, rest = label.partition("[")
    return label if name and bracket and rest[:-1].isdigit() and rest.endswith("]") else None
