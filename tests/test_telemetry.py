"""The telemetry bus: free when nothing listens, and a broken sink never breaks a caller."""

from __future__ import annotations

import pytest

from hybrid_core import Event, ExecutionContext, InMemorySink, TelemetryBus


class Exploding:
    name = "exploding"

    def __init__(self) -> None:
        self.calls = 0

    def handle(self, event: Event) -> None:
        self.calls += 1
        raise RuntimeError("sink down")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        raise OSError("cannot close")


def test_events_carry_context_ids_and_are_immutable() -> None:
    bus, sink = TelemetryBus(), InMemorySink()
    bus.attach(sink)
    ctx = ExecutionContext.root().child()
    bus.emit("step.start", ctx, step="s", provider="p", attempt=1)
    (event,) = sink.events
    assert (event.name, event.step, event.provider) == ("step.start", "s", "p")
    assert event.trace_id == ctx.trace_id and event.parent_span_id == ctx.parent_span_id
    assert dict(event.attributes) == {"attempt": 1}
    assert event.to_dict()["attributes"] == {"attempt": 1}
    with pytest.raises(AttributeError):
        event.name = "x"  # type: ignore[misc]


def test_bus_without_sinks_is_disabled() -> None:
    bus = TelemetryBus()
    assert not bus.enabled
    sink = InMemorySink()
    bus.attach(sink)
    assert bus.enabled
    bus.detach(sink)
    assert not bus.enabled
    bus.emit("run.start")
    assert sink.events == []


def test_failing_sink_is_reported_once_and_others_still_receive() -> None:
    bus, bad, good = TelemetryBus(), Exploding(), InMemorySink()
    bus.attach(bad)
    bus.attach(good)
    for _ in range(5):
        bus.emit("run.start")
    bus.flush()  # the failing sink is not inline: its events go through the queue
    assert len(good.events) == 5 and bad.calls == 5
    assert list(bus.sink_failures) == ["exploding"]
    assert "sink down" in bus.sink_failures["exploding"]
    bus.close()
    assert not bus.enabled
