"""Span and trace ids for OpenTelemetry that come from hybrid_core's events.

The SDK asks its tracer's id generator for a new span id (and, for a root span, a new
trace id) whenever a span starts. This generator answers with the ids the sink set just
before starting the span, so an exported span carries the same W3C ids as the events it
was built from; at any other time it defers to the generator it replaced.
"""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

__all__ = ["EventIds"]


class EventIds(IdGenerator):
    """Hands out the ids set with :meth:`use`, once each; ``fallback`` otherwise."""

    def __init__(self, fallback: IdGenerator | None = None) -> None:
        self.fallback = fallback or RandomIdGenerator()
        self._next = threading.local()

    def use(self, trace_id: str | None, span_id: str | None) -> None:
        """Make the next span start with these hex ids (None: let the fallback choose)."""
        self._next.trace_id = int(trace_id, 16) if trace_id else None
        self._next.span_id = int(span_id, 16) if span_id else None

    def generate_span_id(self) -> int:
        value = getattr(self._next, "span_id", None)
        self._next.span_id = None
        return value or self.fallback.generate_span_id()

    def generate_trace_id(self) -> int:
        value = getattr(self._next, "trace_id", None)
        self._next.trace_id = None
        return value or self.fallback.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        # hybrid_core draws every trace id from 128 random bits.
        return True
