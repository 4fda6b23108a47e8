"""Telemetry events, the sink protocol, the bus that fans events out, and built-in sinks.

Emitters check :attr:`TelemetryBus.enabled` before building an event, so with no sink
attached an event costs one attribute read. Sinks that declare ``inline = True`` (fast,
in-process: the memory sink) are called in the emitting thread; every other sink is fed
from a bounded queue by one background thread per bus, so a slow or stuck sink costs the
run nothing beyond that queue: when it is full, events are dropped and counted, and the
count is reported once, when the bus closes. A sink that raises is reported once (through
loguru, and in :attr:`TelemetryBus.sink_failures`) and never reaches the emitter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .._core.context import ExecutionContext
from .._core.log import logger
from .._core.util import PLUGIN_FAULTS, reraise_interrupt

if TYPE_CHECKING:
    from .queue import EventQueue

__all__ = [
    "REMOTE",
    "Event",
    "InMemorySink",
    "LoguruSink",
    "Sink",
    "TelemetryBus",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
Lineage = tuple[tuple[str, str], ...]
# The name that marks the last lineage entry as the span of a remote caller (W3C traceparent).
REMOTE = "<remote>"
DEFAULT_CAPACITY = 10_000


@attrs.frozen(repr=False)
class Event:
    """One immutable telemetry record.

    ``timestamp`` is wall-clock seconds (``time.time()``) at emission; ``duration``
    (seconds) is set on events that end something. ``span_id`` is the emitting context's
    span, ``parent_span_id`` its parent's (for a root context continuing a W3C trace, the
    caller's span). ``lineage`` is ``(span id, context name)`` of the emitting context and
    each enclosing one, innermost first: what lets a reader nest work started deep inside
    a step under that step; when the tree continues a caller's W3C trace, a last entry
    ``(caller's span id, "<remote>")`` names the caller.
    """

    name: str
    timestamp: float
    run_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    step: str | None = None
    provider: str | None = None
    duration: float | None = None
    attributes: Mapping[str, Any] = _EMPTY
    lineage: Lineage = ()

    @property
    def start(self) -> float:
        """When what this event describes began: ``timestamp - duration`` for an end."""
        return self.timestamp - (self.duration or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain data (for JSON)."""
        out = attrs.asdict(self, recurse=False)
        out["attributes"] = dict(self.attributes)
        out["lineage"] = [list(pair) for pair in self.lineage]
        return out

    def __repr__(self) -> str:
        return f"<Event {self.name} step={self.step} provider={self.provider}>"


def _lineage(context: ExecutionContext) -> Lineage:
    out = []
    ctx: ExecutionContext | None = context
    while ctx is not None:
        out.append((ctx.span_id, ctx.name))
        ctx = ctx.parent
    remote = context.metadata.get("remote_parent_span_id")
    if remote:
        out.append((remote, REMOTE))
    return tuple(out)


@runtime_checkable
class Sink(Protocol):
    """Receives telemetry events. ``name`` identifies it in config and reports.

    A sink may also set ``inline = True`` to be called in the emitting thread; do so only
    when ``handle`` is fast and thread-safe (appending to a list). Other sinks are called
    from the bus's one background thread, in emission order, and may batch freely.
    """

    name: str

    def handle(self, event: Event) -> None:
        """Take one event. An exception is caught: the first is reported, later ones not."""

    def flush(self) -> None:
        """Push out anything buffered."""

    def close(self) -> None:
        """Release resources; no events come after it.

        The system calls it once, after a final flush, but it must be safe to call again
        (a second call does nothing) and before any event arrived: ``SinkContract``
        checks both.
        """


class TelemetryBus:
    """Fans events out to the attached sinks: inline ones at once, the others queued.

    ``capacity`` bounds the queue feeding the background thread (events beyond it are
    dropped and counted in :attr:`dropped`). The thread starts with the first event for
    a queued sink, never at construction, and stops in :meth:`close`.
    """

    def __init__(self, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"TelemetryBus(capacity=...) must be an int >= 1, not {capacity!r}")
        self._inline: tuple[Sink, ...] = ()
        self._queued: tuple[Sink, ...] = ()
        self._order: tuple[Sink, ...] = ()
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._capacity = capacity
        self._queue: EventQueue | None = None  # made with the first queued sink
        self._dropped = 0  # by queues already closed
        self.enabled = False

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """Every attached sink, in the order attached."""
        return self._order

    @property
    def sink_failures(self) -> Mapping[str, str]:
        """Sink name -> the first error it raised."""
        return MappingProxyType(self._failed)

    @property
    def dropped(self) -> int:
        """Events the queued sinks never got because the queue was full."""
        return self._dropped + (self._queue.dropped if self._queue is not None else 0)

    def attach(self, sink: Sink) -> None:
        """Start sending events to ``sink``."""
        with self._lock:
            self._order = (*self._order, sink)
            self._split()
            if self._queued and self._queue is None:
                from .queue import EventQueue

                self._queue = EventQueue(self._capacity, lambda: self._queued, self._report)

    def detach(self, sink: Sink) -> None:
        """Stop sending events to ``sink``; it is neither flushed nor closed."""
        with self._lock:
            self._order = tuple(s for s in self._order if s is not sink)
            self._split()

    def _split(self) -> None:
        inline: list[Sink] = []
        queued: list[Sink] = []
        for sink in self._order:
            (inline if getattr(sink, "inline", False) is True else queued).append(sink)
        self._inline, self._queued = tuple(inline), tuple(queued)
        self.enabled = bool(self._order)

    def emit(
        self,
        name: str,
        context: ExecutionContext | None = None,
        *,
        step: str | None = None,
        provider: str | None = None,
        duration: float | None = None,
        **attributes: Any,
    ) -> None:
        """Build an event from ``context`` and hand it to every sink."""
        if not self.enabled:
            return
        if context is None:
            event = Event(
                name,
                time.time(),
                step=step,
                provider=provider,
                duration=duration,
                attributes=MappingProxyType(attributes) if attributes else _EMPTY,
            )
        else:
            parent = context.parent
            event = Event(
                name,
                time.time(),
                context.run_id,
                context.trace_id,
                context.span_id,
                parent.span_id if parent else context.metadata.get("remote_parent_span_id"),
                step,
                provider,
                duration,
                MappingProxyType(attributes) if attributes else _EMPTY,
                _lineage(context),
            )
        self.publish(event)

    def publish(self, event: Event) -> None:
        """Hand a ready-made event to every sink."""
        for sink in self._inline:
            try:
                sink.handle(event)
            except PLUGIN_FAULTS as exc:  # a sink must never break a run
                reraise_interrupt(exc)
                self._report(sink, exc)
        if self._queued:
            queue = self._queue
            assert queue is not None  # made when the first queued sink was attached
            queue.put(event)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event emitted so far reached its sinks, then flush them all.

        Returns False if the queued sinks were not done within ``timeout`` seconds.
        """
        for sink in self._inline:
            self._call(sink, "flush")
        return self._queue.flush(timeout) if self._queue is not None else True

    def close(self, timeout: float | None = 5.0) -> None:
        """Deliver what is queued, flush and close every sink, stop the thread.

        A sink that fails to close is reported, not raised; one that is still busy after
        ``timeout`` seconds is abandoned with a warning. Events dropped because the queue
        was full are reported here, once, with their count.
        """
        with self._lock:
            inline, queued = self._inline, self._queued
            # A stuck thread keeps its old queue to itself; attaching again starts afresh.
            queue, self._queue = self._queue, None
            self.enabled = False
        for sink in inline:
            self._call(sink, "flush", "close")
        stopped = queue is None or queue.stop(timeout)  # it delivers to self._queued
        with self._lock:
            self._order = self._inline = self._queued = ()
        if queue is None:
            return
        names = ", ".join(repr(s.name) for s in queued)
        if not stopped:
            logger.warning(
                "telemetry: sink(s) {} still busy after {}s; closing without them", names, timeout
            )
        if queue.dropped:
            self._dropped += queue.dropped
            logger.warning(
                "telemetry: {} event(s) dropped because sink(s) {} did not keep up "
                "(queue capacity {})",
                queue.dropped,
                names,
                queue.capacity,
            )

    def _call(self, sink: Sink, *methods: str) -> None:
        try:
            for method in methods:
                getattr(sink, method)()
        except PLUGIN_FAULTS as exc:
            reraise_interrupt(exc)
            self._report(sink, exc)

    def _report(self, sink: Sink, exc: BaseException) -> None:
        name = getattr(sink, "name", type(sink).__name__)
        with self._lock:
            if name in self._failed:
                return
            self._failed[name] = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "telemetry sink {!r} raised {}: {}; its further errors are not reported",
            name,
            type(exc).__name__,
            exc,
        )

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self._order)
        return f"<TelemetryBus sinks=[{names}] dropped={self.dropped}>"


class InMemorySink:
    """Keeps every event in a list; for tests and hosts that inspect runs.

    Called inline (in the emitting thread), so :attr:`events` is complete as soon as
    the emitting call returns.
    """

    inline = True

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def handle(self, event: Event) -> None:
        # list.append is atomic in CPython: no lock on the emitting path.
        self.events.append(event)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def named(self, name: str) -> list[Event]:
        """The events called ``name``, in arrival order."""
        return [e for e in self.events if e.name == name]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def __repr__(self) -> str:
        return f"<InMemorySink {self.name!r} events={len(self.events)}>"


class LoguruSink:
    """Writes one structured loguru line per event at ``level``.

    It logs from the ``hybrid_core`` package, whose loguru output is disabled until a host
    calls ``logger.enable("hybrid_core")`` (the CLI does so). The full event rides along
    as ``record["extra"]["event"]``. Logging may block on I/O, so it is a queued sink.
    """

    def __init__(self, level: str | int = "INFO", name: str = "loguru") -> None:
        self.name = name
        self.level = level

    def handle(self, event: Event) -> None:
        fields = " ".join(f"{k}={v!r}" for k, v in event.attributes.items())
        logger.bind(event=event.to_dict()).log(
            self.level,
            "{} run={} step={} provider={} {}",
            event.name,
            event.run_id,
            event.step,
            event.provider,
            fields,
        )

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<LoguruSink {self.name!r} level={self.level!r}>"
