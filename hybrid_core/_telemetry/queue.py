"""The bounded queue and the one background thread that feed a bus's slow sinks.

Emitting must never wait for a sink: :meth:`EventQueue.put` appends to a deque and
returns, dropping (and counting) the event when the queue is full. One daemon thread per
bus, started by the first event queued, hands each event to the sinks, so a slow sink
holds up only that thread, never the run. Queued sinks are only ever called from that
thread, so they need not be thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .._core.util import PLUGIN_FAULTS, reraise_interrupt

if TYPE_CHECKING:
    from .bus import Event, Sink

__all__ = ["EventQueue"]

Report = Callable[["Sink", BaseException], None]


class _Marker:
    """A flush or stop request travelling through the queue behind the events before it."""

    __slots__ = ("done", "stop")

    def __init__(self, *, stop: bool) -> None:
        self.stop = stop
        self.done = threading.Event()


class EventQueue:
    """A bounded FIFO of events drained by one daemon thread into ``sinks()``.

    ``sinks`` is called again for every event, so attaching or detaching takes effect at
    once. ``report(sink, error)`` is called in the worker thread when a sink raises.
    """

    def __init__(self, capacity: int, sinks: Callable[[], Sequence[Sink]], report: Report) -> None:
        self.capacity = capacity
        self.dropped = 0
        self._sinks = sinks
        self._report = report
        self._items: deque[Event | _Marker] = deque()
        self._wakeup = threading.Event()
        self._idle = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def put(self, event: Event) -> None:
        """Queue ``event``, or count it as dropped when the queue is full."""
        items = self._items
        if len(items) >= self.capacity:
            with self._lock:
                self.dropped += 1
            return
        items.append(event)
        if self._thread is None:
            self._start()
        elif self._idle:
            self._wakeup.set()

    def flush(self, timeout: float | None) -> bool:
        """Wait until every event queued so far reached the sinks and they flushed.

        Returns False when ``timeout`` seconds passed first.
        """
        if self._thread is None:
            self._each("flush")
            return True
        return self._send(_Marker(stop=False), timeout)

    def stop(self, timeout: float | None) -> bool:
        """Deliver what is queued, flush and close the queued sinks, end the thread.

        Returns False when ``timeout`` seconds passed first (a stuck sink); the daemon
        thread is then abandoned.
        """
        # From here on the queue serves the sinks attached now, whatever the bus does next.
        final = tuple(self._sinks())
        self._sinks = lambda: final
        thread = self._thread
        if thread is None:
            self._each("flush", "close")
            return True
        done = self._send(_Marker(stop=True), timeout)
        if done:
            thread.join(timeout)
        self._thread = None
        return done

    def _send(self, marker: _Marker, timeout: float | None) -> bool:
        if threading.current_thread() is self._thread:
            return False  # a sink flushing the bus from inside delivery would wait forever
        self._items.append(marker)
        self._wakeup.set()
        return marker.done.wait(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._drain, name="hybrid-telemetry", daemon=True)
            self._thread = thread
        thread.start()

    def _drain(self) -> None:
        """The worker loop: deliver events in order, answer flush and stop markers."""
        items = self._items
        while True:
            try:
                item = items.popleft()
            except IndexError:
                self._sleep()
                continue
            if isinstance(item, _Marker):
                if item.stop:
                    self._each("flush", "close")
                else:
                    self._each("flush")
                item.done.set()
                if item.stop:
                    return
                continue
            for sink in self._sinks():
                try:
                    sink.handle(item)
                except PLUGIN_FAULTS as exc:  # a sink never stops delivery
                    reraise_interrupt(exc)
                    self._report(sink, exc)

    def _sleep(self) -> None:
        # Announce idleness, then look once more, so an event appended in between is not
        # left waiting for the next one (producers only signal an idle worker).
        self._idle = True
        if not self._items:
            self._wakeup.wait()
        self._wakeup.clear()
        self._idle = False

    def _each(self, *methods: str) -> None:
        for sink in self._sinks():
            try:
                for method in methods:
                    getattr(sink, method)()
            except PLUGIN_FAULTS as exc:  # reported; the other sinks go on
                reraise_interrupt(exc)
                self._report(sink, exc)

    def __repr__(self) -> str:
        state = "running" if self.running else "idle"
        return f"<EventQueue {state} queued={len(self._items)} dropped={self.dropped}>"
