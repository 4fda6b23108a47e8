"""The contract suites of ``hybrid_core.testing``: every built-in provider passes its own,
and each suite fails, on the right test, for a provider that breaks what it checks.

The second half runs the suites in a pytest of their own (``pytester``) against
deliberately broken providers, so a suite that could not fail would be seen here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hybrid_core import (
    Engine,
    JsonlSink,
    LeastLoadedStrategy,
    LocalExecutor,
    LoguruSink,
    PerformanceStrategy,
    PriorityStrategy,
    ResourceAwareStrategy,
    RoundRobinStrategy,
)
from hybrid_core.testing import (
    EngineContract,
    ExecutorContract,
    InMemorySink,
    SinkContract,
    StrategyContract,
)

pytest_plugins = ["pytester"]

# -- the built-in providers pass their contracts -------------------------------------------


class TestPriorityStrategy(StrategyContract):
    deterministic = True

    @pytest.fixture
    def strategy(self) -> PriorityStrategy:
        return PriorityStrategy()


class TestRoundRobinStrategy(StrategyContract):
    @pytest.fixture
    def strategy(self) -> RoundRobinStrategy:
        return RoundRobinStrategy()


class TestLeastLoadedStrategy(StrategyContract):
    @pytest.fixture
    def strategy(self) -> LeastLoadedStrategy:
        return LeastLoadedStrategy()


class TestPerformanceStrategy(StrategyContract):
    @pytest.fixture
    def strategy(self) -> PerformanceStrategy:
        return PerformanceStrategy(explore=0.1)


class TestResourceAwareStrategy(StrategyContract):
    deterministic = True

    @pytest.fixture
    def strategy(self) -> ResourceAwareStrategy:
        return ResourceAwareStrategy()


def count_words(payload: dict[str, str]) -> int:
    return len(payload["text"].split())


async def count_words_async(payload: dict[str, str], context: object) -> int:
    return len(payload["text"].split())


class Counter:
    """An engine's state with start, stop and a health check, as a plugin might keep it."""

    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    def healthy(self) -> bool:
        return self.started


class WordEngine(EngineContract):
    @pytest.fixture
    def payload(self) -> dict[str, str]:
        return {"text": "one two three"}

    def check_result(self, result: object, payload: dict[str, str]) -> None:
        assert result == 3


class TestSyncEngine(WordEngine):
    @pytest.fixture
    def engine(self) -> Engine:
        return Engine(name="words.sync", capabilities={"text.words": 10}, handler=count_words)


class TestAsyncEngine(WordEngine):
    @pytest.fixture
    def engine(self) -> Engine:
        return Engine(name="words.async", capabilities={"text.words": 10, "text.count": 1},
                      handler=count_words_async)  # fmt: skip


class TestBlockingEngineWithLifecycle(WordEngine):
    @pytest.fixture
    def engine(self) -> Engine:
        state = Counter()
        return Engine(name="words.blocking", capabilities={"text.words": 10},
                      handler=count_words, blocking=True, timeout=30, start=state.start,
                      stop=state.stop, health_check=state.healthy)  # fmt: skip


class TestProcessEngine(WordEngine):
    @pytest.fixture
    def engine(self) -> Engine:
        return Engine(name="words.process", capabilities={"text.words": 10},
                      handler=count_words, process=True, resources={"cpu": 1})  # fmt: skip


class TestInMemorySink(SinkContract):
    @pytest.fixture
    def sink(self) -> InMemorySink:
        return InMemorySink()


class TestLoguruSink(SinkContract):
    @pytest.fixture
    def sink(self) -> LoguruSink:
        return LoguruSink(level="DEBUG")


class TestJsonlSink(SinkContract):
    @pytest.fixture
    def sink(self, tmp_path: Path) -> JsonlSink:
        return JsonlSink(tmp_path / "events.jsonl", max_bytes=20_000, backups=2)


class TestLocalExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> LocalExecutor:
        return LocalExecutor(max_threads=4, max_processes=2, close_grace=5.0)


def test_the_contracts_every_built_in_provider_passes_cover_them_all() -> None:
    """A strategy or sink added to the built-in plugin gets a contract class here."""
    from hybrid_core._routing.strategies import builtin_strategies
    from hybrid_core._telemetry.builtin import BUILTIN_SINKS

    tested = {cls.__name__ for cls in globals().values() if isinstance(cls, type)}
    for strategy in builtin_strategies():
        assert f"Test{type(strategy).__name__}" in tested, strategy.name
    sinks = {"jsonl": "TestJsonlSink", "loguru": "TestLoguruSink", "memory": "TestInMemorySink"}
    assert set(BUILTIN_SINKS) == set(sinks)
    assert set(sinks.values()) <= tested


# -- each suite fails, on the right test, for a provider that breaks its promise ------------


def failed_tests(pytester: pytest.Pytester, source: str) -> set[str]:
    """Run ``source`` as a test module in a pytest of its own; the names that failed."""
    pytester.makepyfile(test_broken=textwrap.dedent(source))
    # Without pytest-asyncio too: the suites need nothing but pytest.
    recorder = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio")
    passed, _, failed = recorder.listoutcomes()
    assert passed, "nothing passed: the broken provider broke more than it should"
    return {report.nodeid.rsplit("::", 1)[-1] for report in failed}


STRATEGY_ORDER_TESTS = {
    "test_returns_only_candidates_it_was_given",
    "test_copes_with_one_candidate",
    "test_copes_with_stats_it_has_never_seen",
    "test_copes_when_every_provider_is_cooling_down",
    "test_copes_with_resource_pools",
    "test_never_raises_on_well_formed_input",
}

BROKEN_STRATEGIES = {
    "a foreign candidate": (
        """
        import attrs
        def order(candidates, request):
            return [attrs.evolve(candidates[0], name="stranger"), *candidates]
        """,
        STRATEGY_ORDER_TESTS,
    ),
    "a candidate twice": (
        """
        def order(candidates, request):
            return [*candidates, candidates[0]]
        """,
        STRATEGY_ORDER_TESTS,
    ),
    "nothing at all": (
        """
        def order(candidates, request):
            return []
        """,
        STRATEGY_ORDER_TESTS,
    ),
    "a crash when every provider cools down": (
        """
        def order(candidates, request):
            states = [getattr(request.stats.get(p.name), "state", "") for p in candidates]
            if all(state == "open" for state in states):
                raise RuntimeError("no provider is available")
            return list(candidates)
        """,
        {
            "test_copes_with_one_candidate",
            "test_copes_when_every_provider_is_cooling_down",
            "test_never_raises_on_well_formed_input",
        },
    ),
    "a lookup of stats it may not have": (
        """
        def order(candidates, request):
            return sorted(candidates, key=lambda p: request.stats[p.name].load)
        """,
        {
            "test_copes_with_one_candidate",
            "test_copes_with_stats_it_has_never_seen",
            "test_copes_with_resource_pools",
        },
    ),
    "a false claim of determinism": (
        """
        import random
        def order(candidates, request):
            return random.sample(list(candidates), len(candidates))
        """,
        {"test_is_deterministic"},
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_STRATEGIES))
def test_the_strategy_contract_fails_a_strategy_that_returns(
    pytester: pytest.Pytester, broken: str
) -> None:
    body, expected = BROKEN_STRATEGIES[broken]
    claims = "DETERMINISTIC = " + str(expected == {"test_is_deterministic"}) + "\n"
    source = claims + textwrap.dedent(body) + textwrap.dedent(
        """
        import pytest
        from hybrid_core.testing import StrategyContract

        class Broken:
            name = "broken"
            order = staticmethod(order)

        class TestBroken(StrategyContract):
            deterministic = DETERMINISTIC

            @pytest.fixture
            def strategy(self):
                return Broken()
        """
    )
    assert failed_tests(pytester, source) == expected


def test_the_strategy_contract_fails_a_false_claim_of_cacheable(
    pytester: pytest.Pytester,
) -> None:
    source = """
    from hybrid_core.testing import StrategyContract
    import pytest

    class ByErrors:
        name = "by-errors"
        cacheable = True  # but the order below reads the statistics

        def order(self, candidates, request):
            def rate(p):
                found = request.stats.get(p.name)
                return found.error_rate if found is not None else 0.0
            return sorted(candidates, key=rate)

    class TestByErrors(StrategyContract):
        @pytest.fixture
        def strategy(self):
            return ByErrors()
    """
    assert failed_tests(pytester, source) == {
        "test_a_cacheable_order_reads_nothing_but_the_candidates"
    }


SINK = """
import threading, time
import pytest
from hybrid_core.testing import SinkContract

class Broken:
    name = "broken"
    inline = True

    def __init__(self):
        self.closed = False
        self.busy = False

    def handle(self, event):
        {handle}

    def flush(self):
        pass

    def close(self):
        {close}
        self.closed = True

class TestBroken(SinkContract):
    threads = 4
    events_per_thread = 50

    @pytest.fixture
    def sink(self):
        return Broken()
"""

BROKEN_SINKS = {
    "whose close raises the second time": (
        "pass",
        'if self.closed: raise RuntimeError("already closed")',
        {"test_close_is_idempotent", "test_flush_and_close_before_any_event"},
    ),
    "that rejects an event name it does not know": (
        'if event.name == "step.elements": raise KeyError(event.name)',
        "pass",
        {
            "test_accepts_every_documented_event",
            "test_accepts_every_documented_event_through_a_bus",
        },
    ),
    "that cannot take an event of no run": (
        "event.run_id.upper()",
        "pass",
        {
            "test_accepts_every_documented_event",
            "test_accepts_every_documented_event_through_a_bus",
        },
    ),
    "that is not safe to call from several threads": (
        "assert not self.busy, 'called again while busy'; "
        "self.busy = True; time.sleep(0.0005); self.busy = False",
        "pass",
        {"test_survives_concurrent_emits_from_several_threads"},
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_SINKS))
def test_the_sink_contract_fails_a_sink(pytester: pytest.Pytester, broken: str) -> None:
    handle, close, expected = BROKEN_SINKS[broken]
    source = SINK.replace("{handle}", handle).replace("{close}", close)
    assert failed_tests(pytester, source) == expected


ENGINE = """
import pytest
from hybrid_core import Engine
from hybrid_core.testing import EngineContract

def upper(payload):
    return str(payload).upper()

{definitions}

class TestBroken(EngineContract):
    @pytest.fixture
    def engine(self):
        return Engine(name="broken.upper", capabilities={{"text.upper": 10}}, {options})

    @pytest.fixture
    def payload(self):
        return "abc"

    def check_result(self, result, payload):
        assert result == payload.upper()
"""

SERVING_TESTS = {
    "test_serves_every_capability_through_a_started_system",
    "test_serves_from_a_host_event_loop",
    "test_a_sync_handler_also_runs_in_threads",
}

BROKEN_ENGINES = {
    "a handler of the wrong arity": (
        "def three(payload, context, extra):\n    return payload",
        "handler=three",
        {"test_handler_takes_what_the_core_passes", *SERVING_TESTS},
    ),
    "a required keyword-only parameter": (
        "def keyword(payload, *, flag):\n    return payload",
        "handler=keyword",
        {"test_handler_takes_what_the_core_passes", *SERVING_TESTS},
    ),
    "a lambda for a process handler": (
        "",
        "handler=lambda payload: str(payload).upper(), process=True",
        # In a thread, as blocking=True, a lambda is fine: only that test passes.
        {
            "test_process_handler_and_payload_survive_pickling",
            "test_serves_every_capability_through_a_started_system",
            "test_serves_from_a_host_event_loop",
        },
    ),
    "a wrong result": (
        "def lower(payload):\n    return str(payload).lower()",
        "handler=lower",
        SERVING_TESTS,
    ),
    "a stop that raises": (
        "def stop():\n    raise OSError('the socket is gone')",
        "handler=upper, stop=stop",
        {"test_start_and_stop_run_once_per_system"},
    ),
    "a health check that says unhealthy": (
        "def health():\n    return False",
        "handler=upper, health_check=health",
        {"test_health_check_answers_truthy"},
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_ENGINES))
def test_the_engine_contract_fails_an_engine_with(pytester: pytest.Pytester, broken: str) -> None:
    definitions, options, expected = BROKEN_ENGINES[broken]
    source = ENGINE.replace("{definitions}", definitions).replace("{options}", options)
    source = source.replace("{{", "{").replace("}}", "}")
    assert failed_tests(pytester, source) == expected


EXECUTOR = """
import asyncio, threading, time
import pytest
from hybrid_core import LocalExecutor
from hybrid_core.testing import ExecutorContract

class Broken(LocalExecutor):
{methods}

class TestBroken(ExecutorContract):
    supports_process = False
    cancel_timeout = 1.0
    close_timeout = 1.0

    @pytest.fixture
    def executor(self):
        return Broken(max_threads=2, close_grace=2.0)
"""

BROKEN_EXECUTORS = {
    "loses the exception's type": (
        """
        async def asubmit(self, call):
            try:
                return await super().asubmit(call)
            except Exception as exc:
                raise RuntimeError(str(exc)) from None
        """,
        {"test_propagates_exceptions_with_their_type"},
    ),
    "raises when closed twice": (
        """
        async def aclose(self):
            if self._closed:
                raise RuntimeError("already closed")
            await super().aclose()
        """,
        {"test_close_is_idempotent"},
    ),
    "ignores cancellation": (
        """
        async def asubmit(self, call):
            work = asyncio.ensure_future(super().asubmit(call))
            while True:
                try:
                    return await asyncio.shield(work)
                except asyncio.CancelledError:
                    continue
        """,
        {"test_honours_cancellation"},
    ),
    "leaves a thread behind": (
        """
        async def asubmit(self, call):
            threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
            return await super().asubmit(call)
        """,
        {"test_leaves_no_thread_or_process_behind"},
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_EXECUTORS))
def test_the_executor_contract_fails_an_executor_that(
    pytester: pytest.Pytester, broken: str
) -> None:
    methods, expected = BROKEN_EXECUTORS[broken]
    indented = textwrap.indent(textwrap.dedent(methods), "    ")
    assert failed_tests(pytester, EXECUTOR.replace("{methods}", indented)) == expected


def test_the_distribution_declares_the_pytest_plugin() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("hybrid_core") == "hybrid_core.testing.pytest_plugin"


def test_the_pytest_plugin_is_registered_through_its_entry_point(
    pytester: pytest.Pytester,
) -> None:
    """A project that has hybrid_core installed gets the fixtures without any import."""
    pytester.makepyfile(
        test_fixtures="""
        from hybrid_core.testing import make_engine, make_plugin

        def upper(payload):
            return payload.upper()

        import pytest

        @pytest.fixture
        def hybrid_plugins():
            return [make_plugin("acme", engines=[make_engine(upper, "text.upper")])]

        def test_system(hybrid_system, hybrid_sink):
            assert hybrid_system.running
            assert hybrid_system.execute("text.upper", "ab") == "AB"
            assert hybrid_sink.named("engine.call.stop")

        def test_candidates(hybrid_candidates, hybrid_stats):
            assert len(hybrid_candidates) == 4
            assert set(hybrid_stats) == {p.name for p in hybrid_candidates}
        """
    )
    options = ("-p", "no:cacheprovider", "-p", "no:asyncio")
    result = pytester.runpytest_subprocess(*options, "--fixtures")
    assert "hybrid_system" in result.stdout.str()
    result = pytester.runpytest_subprocess(*options)
    result.assert_outcomes(passed=2)
