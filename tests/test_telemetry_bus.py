"""The telemetry bus: inline and queued sinks, the bounded queue, failures reported once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from loguru import logger

from hybrid_core import Engine, Event, ExecutionContext, Hybrid, InMemorySink, TelemetryBus
from hybrid_core.testing import make_plugin


class Recording:
    """A queued sink that records events, the thread that delivered them, and flushes."""

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.events: list[Event] = []
        self.threads: set[str] = set()
        self.flushes = 0
        self.closed = False

    def handle(self, event: Event) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed = True


class Blocking(Recording):
    """Holds the delivery thread inside handle() until released."""

    def __init__(self) -> None:
        super().__init__("blocking")
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle(self, event: Event) -> None:
        self.entered.set()
        self.release.wait(10)
        super().handle(event)


class Raising(Recording):
    def __init__(self, name: str = "raising") -> None:
        super().__init__(name)
        self.calls = 0

    def handle(self, event: Event) -> None:
        self.calls += 1
        raise RuntimeError("disk full")


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """Every loguru warning hybrid_core logs while the test runs."""
    messages: list[str] = []
    logger.enable("hybrid_core")
    handler = logger.add(
        lambda m: messages.append(m.record["message"]), level="WARNING", filter="hybrid_core"
    )
    yield messages
    logger.remove(handler)
    logger.disable("hybrid_core")


def telemetry_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "hybrid-telemetry"}


def test_inline_sinks_see_events_at_once_and_queued_ones_after_flush() -> None:
    bus, memory, queued = TelemetryBus(), InMemorySink(), Recording()
    bus.attach(memory)
    bus.attach(queued)
    for n in range(50):
        bus.emit("step.start", step=f"s{n}")
    assert len(memory.events) == 50
    assert bus.flush(timeout=10)
    assert [e.step for e in queued.events] == [f"s{n}" for n in range(50)]
    assert queued.threads == {"hybrid-telemetry"}
    assert queued.flushes == 1
    assert bus.sinks == (memory, queued)
    bus.close()
    assert queued.closed


def test_the_delivery_thread_starts_with_the_first_queued_event_and_stops_on_close() -> None:
    before = telemetry_threads()
    bus, queued = TelemetryBus(), Recording()
    bus.attach(queued)
    assert telemetry_threads() - before == set()
    bus.emit("run.start")
    (mine,) = telemetry_threads() - before
    bus.close()
    assert not mine.is_alive()
    assert not bus.enabled and bus.sinks == ()


def test_inline_only_bus_never_starts_a_thread() -> None:
    before = telemetry_threads()
    bus, memory = TelemetryBus(), InMemorySink()
    bus.attach(memory)
    bus.emit("run.start")
    assert bus.flush()
    assert telemetry_threads() - before == set()
    bus.close()
    assert len(memory.events) == 1


def test_a_full_queue_drops_and_counts_and_the_count_is_reported_once(
    warnings: list[str],
) -> None:
    bus, slow = TelemetryBus(capacity=5), Blocking()
    bus.attach(slow)
    bus.emit("step.start", step="first")
    assert slow.entered.wait(10)  # the thread now holds "first" inside handle()
    for n in range(12):
        bus.emit("step.start", step=f"s{n}")
    assert bus.dropped == 7
    slow.release.set()
    bus.close()
    assert [e.step for e in slow.events] == ["first", "s0", "s1", "s2", "s3", "s4"]
    dropped = [m for m in warnings if "dropped" in m]
    assert len(dropped) == 1 and "7 event(s)" in dropped[0] and "'blocking'" in dropped[0]


def test_a_failing_queued_sink_is_reported_once_and_others_still_get_every_event(
    warnings: list[str],
) -> None:
    bus, bad, good = TelemetryBus(), Raising(), Recording()
    bus.attach(bad)
    bus.attach(good)
    for _ in range(20):
        bus.emit("run.start")
    bus.flush(timeout=10)
    assert bad.calls == 20 and len(good.events) == 20
    assert list(bus.sink_failures) == ["raising"]
    assert bus.sink_failures["raising"] == "RuntimeError: disk full"
    assert len([m for m in warnings if "raising" in m]) == 1
    bus.close()


def test_a_sink_raising_on_every_event_never_fails_a_run(warnings: list[str]) -> None:
    engine = Engine(name="echo", capabilities={"text.echo": 1}, handler=lambda p: p)
    bad = Raising("broken-sink")
    system = Hybrid(plugins=[make_plugin("p", engines=[engine])], entry_points=False, sinks=[bad])
    with system:
        results = [system.execute("text.echo", n) for n in range(10)]
    assert results == list(range(10))
    assert bad.calls == 30  # a decision, a call start and a call stop per request
    named = [m for m in warnings if "broken-sink" in m]
    assert len(named) == 1 and "disk full" in named[0]


def test_close_gives_up_on_a_stuck_sink_after_its_timeout(warnings: list[str]) -> None:
    bus, stuck = TelemetryBus(), Blocking()
    bus.attach(stuck)
    bus.emit("run.start")
    assert stuck.entered.wait(10)
    bus.close(timeout=0.05)
    assert any("'blocking' still busy" in m for m in warnings)
    assert not bus.enabled
    stuck.release.set()


def test_a_sink_flushing_the_bus_from_the_delivery_thread_does_not_deadlock() -> None:
    bus = TelemetryBus()
    outcomes: list[bool] = []

    class Reentrant(Recording):
        def handle(self, event: Event) -> None:
            outcomes.append(bus.flush(timeout=5))

    bus.attach(Reentrant())
    bus.emit("run.start")
    assert bus.flush(timeout=10)
    assert outcomes == [False]
    bus.close()


def test_events_carry_the_lineage_of_their_context() -> None:
    bus, sink = TelemetryBus(), InMemorySink()
    bus.attach(sink)
    root = ExecutionContext.root(name="wf")
    step = root.child(name="parse")
    call = step.child(name="pyast.parse")
    bus.emit("engine.call.start", call, provider="pyast.parse")
    (event,) = sink.events
    assert event.lineage == (
        (call.span_id, "pyast.parse"),
        (step.span_id, "parse"),
        (root.span_id, "wf"),
    )
    assert event.parent_span_id == step.span_id and event.trace_id == root.trace_id
    assert event.to_dict()["lineage"][1] == [step.span_id, "parse"]


def test_a_root_continuing_a_w3c_trace_names_the_callers_span_as_parent() -> None:
    bus, sink = TelemetryBus(), InMemorySink()
    bus.attach(sink)
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ctx = ExecutionContext.root(traceparent=header)
    bus.emit("run.start", ctx)
    (event,) = sink.events
    assert event.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert event.parent_span_id == "00f067aa0ba902b7"
    assert event.span_id == ctx.span_id
    bus.emit("step.start", ctx.child(name="s"), step="s")
    assert sink.events[1].lineage[-1] == ("00f067aa0ba902b7", "<remote>")


def test_end_events_say_when_their_work_started() -> None:
    event = Event("step.stop", timestamp=100.0, duration=2.5)
    assert event.start == 97.5
    assert Event("step.start", timestamp=100.0).start == 100.0


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True])
def test_capacity_must_be_a_positive_int(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        TelemetryBus(capacity=capacity)  # type: ignore[arg-type]
