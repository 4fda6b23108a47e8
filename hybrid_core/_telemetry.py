"""Telemetry events, the sink protocol, the bus that fans events out, and built-in sinks.

Emitters check :attr:`TelemetryBus.enabled` before building an event, so with no sink
attached an event costs one attribute read. A sink that raises is reported once (through
loguru, and in :attr:`TelemetryBus.sink_failures`) and then ignored for that event; it never
reaches the code that emitted the event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import attrs
from loguru import logger

from ._context import ExecutionContext

__all__ = ["Event", "InMemorySink", "LoguruSink", "Sink", "TelemetryBus"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen(repr=False)
class Event:
    """One immutable telemetry record."""

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

    def to_dict(self) -> dict[str, Any]:
        """The event as plain data (for JSON)."""
        out = attrs.asdict(self, recurse=False)
        out["attributes"] = dict(self.attributes)
        return out

    def __repr__(self) -> str:
        return f"<Event {self.name} step={self.step} provider={self.provider}>"


@runtime_checkable
class Sink(Protocol):
    """Receives telemetry events. ``name`` identifies it in config and reports."""

    name: str

    def handle(self, event: Event) -> None:
        """Take one event. Called in the emitting thread; must not block for long."""

    def flush(self) -> None:
        """Push out anything buffered."""

    def close(self) -> None:
        """Flush and release resources; no events arrive afterwards."""


class TelemetryBus:
    """Fans events out to the attached sinks."""

    def __init__(self) -> None:
        self._sinks: tuple[Sink, ...] = ()
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self.enabled = False

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return self._sinks

    @property
    def sink_failures(self) -> Mapping[str, str]:
        """Sink name -> the first error it raised."""
        return MappingProxyType(self._failed)

    def attach(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = (*self._sinks, sink)
            self.enabled = True

    def detach(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)
            self.enabled = bool(self._sinks)

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
        event = Event(
            name=name,
            timestamp=time.time(),
            run_id=context.run_id if context else None,
            trace_id=context.trace_id if context else None,
            span_id=context.span_id if context else None,
            parent_span_id=context.parent_span_id if context else None,
            step=step,
            provider=provider,
            duration=duration,
            attributes=MappingProxyType(attributes) if attributes else _EMPTY,
        )
        self.publish(event)

    def publish(self, event: Event) -> None:
        for sink in self._sinks:
            try:
                sink.handle(event)
            except Exception as exc:  # noqa: BLE001 - a sink must never break a run
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

    def close(self) -> None:
        """Flush and close every sink; a sink that fails to close is reported, not raised."""
        sinks, self._sinks, self.enabled = self._sinks, (), False
        for sink in sinks:
            try:
                sink.flush()
                sink.close()
            except Exception as exc:  # noqa: BLE001
                self._report(sink, exc)


class InMemorySink:
    """Keeps every event in a list; for tests and hosts that inspect runs."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def handle(self, event: Event) -> None:
        with self._lock:
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

    The library's own loguru output is disabled by default; this sink logs under the
    ``hybrid_core.events`` name, which a host enables with ``logger.enable("hybrid_core")``
    (the CLI does so).
    """

    def __init__(self, level: str = "INFO", name: str = "loguru") -> None:
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
