"""``EngineContract``: what every engine promises, checked through a real system."""

from __future__ import annotations

import asyncio
import inspect
import math
import pickle
import time
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import pytest

from .._core.records import Engine, call_problem, check_capability_name, process_problem
from .._system import Hybrid
from .._telemetry.bus import InMemorySink
from . import make_plugin, make_system

__all__ = ["EngineContract"]


class EngineContract:
    """The behaviours every engine promises; subclass it and give it your engine.

    Subclass it in a test module, name the subclass ``Test...`` and define an ``engine``
    fixture returning the :class:`~hybrid_core.Engine` exactly as your plugin's
    ``hybrid_engines()`` hook returns it, and a ``payload`` fixture returning a payload
    it accepts (the default is ``None``)::

        class TestUpper(EngineContract):
            @pytest.fixture
            def engine(self):
                return acme_plugin.hybrid_engines()[0]

            @pytest.fixture
            def payload(self):
                return {"text": "hello"}

    The suite checks that the handler takes what the core passes (the check the core
    makes when it loads a plugin), that the name, capabilities and resources are well
    formed, that a ``process=True`` handler and the payload survive pickling, that every
    capability is served through a started system (from synchronous code and from a
    host's event loop, in worker processes when the engine asks for them), that a sync
    handler also works in threads, several calls at once, that ``start``/``stop`` run
    once each per system and that ``health_check`` answers truthy. Override
    :meth:`check_result` to check what the engine returned.

    Class attributes a subclass may set:

    ``supports_threads = False``
        the sync handler must not run in a thread (it is not thread-safe); the thread
        test is then skipped.
    ``call_timeout = 60.0``
        seconds one call through the system may take.
    ``health_timeout = 5.0``
        seconds ``health_check`` may take.

    A check that does not apply (no ``start``, no ``health_check``, not a process
    engine) is reported as skipped, with the reason.
    """

    supports_threads: ClassVar[bool] = True
    call_timeout: ClassVar[float] = 60.0
    health_timeout: ClassVar[float] = 5.0

    @pytest.fixture
    def payload(self) -> Any:
        """A payload the engine accepts; override it (the default is ``None``)."""
        return None

    def check_result(self, result: Any, payload: Any) -> None:
        """Check what the engine returned for ``payload``; by default nothing is checked.

        Raise ``AssertionError`` (a plain ``assert``) when ``result`` is wrong.
        """

    # -- helpers --------------------------------------------------------------------------

    def _system(self, engine: Engine) -> tuple[Hybrid, InMemorySink]:
        plugin = make_plugin(f"contract-{engine.name}", engines=[engine])
        return make_system(plugin, strict=True)

    def _serve_all(self, system: Hybrid, engine: Engine, payload: Any) -> None:
        for capability in engine.capabilities:
            result = system.execute(
                capability, payload, providers=[engine.name], timeout=self.call_timeout
            )
            self.check_result(result, payload)

    # -- what it declares -----------------------------------------------------------------

    def test_handler_takes_what_the_core_passes(self, engine: Engine) -> None:
        problem = call_problem(engine.name, engine.handler)
        assert problem is None, problem

    def test_name_capabilities_and_resources_are_well_formed(self, engine: Engine) -> None:
        assert isinstance(engine, Engine), f"{engine!r} is not a hybrid_core.Engine"
        assert engine.capabilities, f"engine {engine.name!r} serves no capability"
        for capability, priority in engine.capabilities.items():
            check_capability_name(capability, owner=f"engine {engine.name!r}")
            assert isinstance(priority, int) and not isinstance(priority, bool), (
                f"engine {engine.name!r}: priority of {capability!r} is {priority!r}, not an int"
            )
            assert priority >= 0, f"engine {engine.name!r}: priority of {capability!r} < 0"
        for pool, amount in engine.resources.items():
            assert isinstance(pool, str) and pool, f"engine {engine.name!r}: pool {pool!r}"
            assert math.isfinite(amount) and amount >= 0, (
                f"engine {engine.name!r}: resource {pool!r} = {amount!r}, not finite and >= 0"
            )
        assert engine.version is None or isinstance(engine.version, str)
        assert isinstance(engine.description, str)
        if engine.affinity_key is not None:
            assert isinstance(engine.affinity_key, str) and engine.affinity_key

    def test_process_handler_and_payload_survive_pickling(
        self, engine: Engine, payload: Any
    ) -> None:
        if not engine.process:
            pytest.skip("not a process=True engine: its handler never leaves this process")
        problem = process_problem(engine.name, engine.handler)
        assert problem is None, problem
        copy = pickle.loads(pickle.dumps(engine.handler))
        if inspect.isfunction(engine.handler):
            assert copy is engine.handler, (
                f"engine {engine.name!r}: the handler unpickles as another object; a worker "
                "would run something else"
            )
        try:
            pickle.loads(pickle.dumps(payload))
        except Exception as exc:  # noqa: BLE001 - any failure means it cannot travel
            pytest.fail(
                f"engine {engine.name!r}: the payload {payload!r} cannot travel to a worker "
                f"process ({type(exc).__name__}: {exc}); send paths or plain data"
            )

    # -- what it does ---------------------------------------------------------------------

    def test_serves_every_capability_through_a_started_system(
        self, engine: Engine, payload: Any
    ) -> None:
        system, sink = self._system(engine)
        with system:
            self._serve_all(system, engine, payload)
        stops = sink.named("engine.call.stop")
        outcomes = [e.attributes.get("outcome") for e in stops if e.provider == engine.name]
        assert outcomes == ["ok"] * len(engine.capabilities), outcomes

    def test_serves_from_a_host_event_loop(self, engine: Engine, payload: Any) -> None:
        system, _ = self._system(engine)

        async def host() -> None:
            async with system:
                for capability in engine.capabilities:
                    result = await system.aexecute(
                        capability, payload, providers=[engine.name], timeout=self.call_timeout
                    )
                    self.check_result(result, payload)

        asyncio.run(host())

    def test_a_sync_handler_also_runs_in_threads(self, engine: Engine, payload: Any) -> None:
        if not self.supports_threads:
            pytest.skip("supports_threads = False: the handler must not run in a thread")
        if engine.is_async:
            pytest.skip("an async handler runs on the event loop, never in a thread")
        threaded = attrs.evolve(engine, process=False, blocking=True)
        system, _ = self._system(threaded)
        capability = next(iter(engine.capabilities))

        async def host() -> list[Any]:
            async with system:
                only, limit = [engine.name], self.call_timeout
                calls = [
                    system.aexecute(capability, payload, providers=only, timeout=limit)
                    for _ in range(4)
                ]
                return list(await asyncio.gather(*calls))

        for result in asyncio.run(host()):
            self.check_result(result, payload)

    # -- lifecycle ------------------------------------------------------------------------

    def test_start_and_stop_run_once_per_system(self, engine: Engine, payload: Any) -> None:
        if engine.start is None and engine.stop is None:
            pytest.skip("the engine has no start or stop")
        for round_ in (1, 2):  # a second system in the same process starts it afresh
            calls: list[str] = []
            counted = attrs.evolve(
                engine,
                start=_counted(engine.start, "start", calls),
                stop=_counted(engine.stop, "stop", calls),
            )
            system, _ = self._system(counted)
            with system:
                assert calls == (["start"] if engine.start else []), calls
                self._serve_all(system, counted, payload)
            wanted = [n for n, f in (("start", engine.start), ("stop", engine.stop)) if f]
            assert calls == wanted, f"system {round_}: {calls}"
            failed = [p for p in system.problems if engine.name in p]
            assert not failed, failed

    def test_health_check_answers_truthy(self, engine: Engine) -> None:
        check = engine.health_check
        if check is None:
            pytest.skip("the engine has no health_check")
        system, _ = self._system(engine)

        async def ask() -> Any:
            async with system:
                started = time.monotonic()
                answer = check()
                if inspect.isawaitable(answer):
                    answer = await asyncio.wait_for(answer, self.health_timeout)
                took = time.monotonic() - started
                assert took <= self.health_timeout, f"health_check took {took:.1f} s"
                return answer

        answer = asyncio.run(ask())
        assert answer, f"engine {engine.name!r}: health_check() answered {answer!r}"


def _counted(
    fn: Callable[[], Any] | None, label: str, calls: list[str]
) -> Callable[[], Any] | None:
    """``fn`` noting each call in ``calls``; None stays None."""
    if fn is None:
        return None
    original = fn

    def counted() -> Any:
        calls.append(label)
        return original()  # an awaitable is awaited by the core, as the original's is

    return counted
