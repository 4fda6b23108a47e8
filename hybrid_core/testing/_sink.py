"""``SinkContract``: what every telemetry sink promises, with every documented event."""

from __future__ import annotations

import threading
from typing import ClassVar

from .._core.context import ExecutionContext
from .._telemetry.bus import Sink, TelemetryBus
from .._workflow import Workflow, input, result
from . import _fakes, _samples, make_engine, make_plugin, make_system

__all__ = ["SinkContract"]


class SinkContract:
    """The behaviours every telemetry sink promises; subclass it and give it yours.

    Subclass it in a test module, name the subclass ``Test...`` and define a ``sink``
    fixture returning a fresh sink for each test (the suite closes it)::

        class TestMySink(SinkContract):
            @pytest.fixture
            def sink(self, tmp_path):
                return MySink(tmp_path / "events.jsonl")

    The suite checks that the sink has a ``name`` and ``handle``/``flush``/``close``;
    that it accepts every documented event name (``hybrid_core.EVENTS``, the list
    ``docs/telemetry.md`` describes) with all its documented fields and attributes, both
    handed to it directly and through a real bus; that it takes a whole run of a started
    system without raising; that it survives events emitted from several threads at once
    (inline sinks are called in each of those threads, queued ones from the bus's
    thread); and that ``close()`` may be called twice, also before any event.

    Class attributes a subclass may set:

    ``threads = 8`` and ``events_per_thread = 100``
        the size of the concurrent-emit check.
    """

    threads: ClassVar[int] = 8
    events_per_thread: ClassVar[int] = 100

    def _bus(self, sink: Sink) -> TelemetryBus:
        bus = TelemetryBus()
        bus.attach(sink)
        return bus

    def _closed_cleanly(self, bus: TelemetryBus, sink: Sink) -> None:
        bus.close(timeout=30.0)
        failures = dict(bus.sink_failures)
        assert not failures, f"sink {sink.name!r} raised: {failures}"
        assert bus.dropped == 0, f"sink {sink.name!r} fell behind: {bus.dropped} dropped"

    def test_has_a_name_and_handle_flush_close(self, sink: Sink) -> None:
        try:
            name = getattr(sink, "name", None)
            assert isinstance(name, str) and name, f"{sink!r} has no 'name' string"
            for method in ("handle", "flush", "close"):
                assert callable(getattr(sink, method, None)), f"{name!r} lacks {method}()"
        finally:
            sink.close()

    def test_accepts_every_documented_event(self, sink: Sink) -> None:
        events = _fakes.documented_events()
        try:
            for event in events:
                sink.handle(event)
            sink.flush()
        finally:
            sink.close()

    def test_accepts_every_documented_event_through_a_bus(self, sink: Sink) -> None:
        bus = self._bus(sink)
        for event in _fakes.documented_events():
            bus.publish(event)
        self._closed_cleanly(bus, sink)

    def test_takes_a_whole_run_of_a_system(self, sink: Sink) -> None:
        engine = make_engine(_samples.upper, _fakes.CAPABILITY, name="contract.upper")
        flow = Workflow("contract", inputs=["text"])
        flow.step("first", _samples.upper, text=input("text"))
        flow.step("second", _samples.upper, text=result("first"))
        flow.returns("second")
        plugin = make_plugin("contract-plugin", engines=[engine], workflows=[flow])
        system, memory = make_system(plugin, sinks=[sink], strict=True)
        with system:
            assert system.run("contract", text="x").value == "X"
            assert system.execute(_fakes.CAPABILITY, "y") == "Y"
            bus = system.telemetry
        failures = dict(bus.sink_failures)
        assert not failures, f"sink {sink.name!r} raised: {failures}"
        assert memory.named("run.stop") and memory.named("engine.call.stop")

    def test_survives_concurrent_emits_from_several_threads(self, sink: Sink) -> None:
        bus = self._bus(sink)
        run = ExecutionContext.root(name="contract")
        start = threading.Barrier(self.threads)
        errors: list[BaseException] = []

        def emit(index: int) -> None:
            ctx = run.child(name=f"t{index}", path=f"t{index}")
            start.wait()
            try:
                for n in range(self.events_per_thread):
                    bus.emit("step.start", ctx, step=f"t{index}", kind="function")
                    bus.emit("step.stop", ctx, step=f"t{index}", provider=None,
                             duration=0.001, kind="function", status="succeeded",
                             attempts=1, error=None if n % 2 else "ValueError: x")  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - reported by the test, below
                errors.append(exc)

        workers = [threading.Thread(target=emit, args=(i,)) for i in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert not errors, errors
        self._closed_cleanly(bus, sink)

    def test_close_is_idempotent(self, sink: Sink) -> None:
        for event in _fakes.documented_events():
            if event.name.startswith("run."):
                sink.handle(event)
        sink.flush()
        sink.close()
        sink.close()

    def test_flush_and_close_before_any_event(self, sink: Sink) -> None:
        sink.flush()
        sink.close()
        sink.close()
