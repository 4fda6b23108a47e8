"""The Hybrid facade: lifecycle, isolation between systems, and sync/async twins."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from hybrid_core import (
    ConfigError,
    Engine,
    Hybrid,
    InMemorySink,
    LocalExecutor,
    PluginError,
    SystemStateError,
    Workflow,
)
from hybrid_core import input as hc_input
from hybrid_core._execution.executor import Call
from hybrid_core.testing import make_engine, make_plugin, make_system


def echo(payload: Any) -> Any:
    return payload


class Lifecycle:
    name = "lifecycle"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def startup(self, system: Hybrid) -> None:
        self.calls.append("startup")

    def shutdown(self, system: Hybrid) -> None:
        self.calls.append("shutdown")


def test_startup_and_shutdown_hooks_run_exactly_once() -> None:
    life = Lifecycle()
    plugin = make_plugin("life", on_startup=life.startup, on_shutdown=life.shutdown)
    system, _ = make_system(plugin)
    with system:
        system.start()  # a second start is a no-op
        assert system.running
    system.close()
    assert life.calls == ["startup", "shutdown"]
    with pytest.raises(SystemStateError, match="cannot start again"):
        system.start()


async def test_async_context_manager() -> None:
    life = Lifecycle()
    system, _ = make_system(make_plugin(on_startup=life.startup, on_shutdown=life.shutdown))
    async with system as s:
        assert s is system and life.calls == ["startup"]
    assert life.calls == ["startup", "shutdown"]


def test_two_systems_share_no_state() -> None:
    a, _ = make_system(make_plugin("p", engines=[make_engine(echo, "x.echo", name="a.echo")]))
    b, _ = make_system()
    with a, b:
        assert a.providers("x.echo") and not b.providers("x.echo")
        assert a.registry is not b.registry and a.telemetry is not b.telemetry
        assert a.executor is not b.executor


def test_executor_is_unavailable_before_start() -> None:
    system, _ = make_system()
    with pytest.raises(SystemStateError, match=r"call 'await system.astart\(\)' first"):
        _ = system.executor


def test_engine_start_and_stop_run_and_a_failing_start_fails_its_plugin() -> None:
    calls: list[str] = []

    async def astart() -> None:
        calls.append("start good")

    def bad_start() -> None:
        raise OSError("missing binary")

    good = Engine(
        name="good",
        capabilities={"c": 1},
        handler=echo,
        start=astart,
        stop=lambda: calls.append("stop good"),
    )
    bad = Engine(name="bad", capabilities={"d": 1}, handler=echo, start=bad_start)
    system, sink = make_system(
        make_plugin("ok", engines=[good]), make_plugin("broken", engines=[bad])
    )
    with system:
        assert system.providers("c") and not system.providers("d")
        (failed,) = system.failures
        assert failed.name == "broken" and "engine 'bad' failed to start" in str(failed.error)
        assert [e.attributes["plugin"] for e in sink.named("plugin.load_failed")] == ["broken"]
    assert calls == ["start good", "stop good"]


def test_failing_startup_hook_takes_the_plugin_out() -> None:
    def explode(system: Hybrid) -> None:
        raise RuntimeError("no licence")

    system, _ = make_system(
        make_plugin("p", engines=[make_engine(echo, "x.y")], on_startup=explode)
    )
    with system:
        assert not system.providers("x.y")
        assert "hook hybrid_startup() raised RuntimeError: no licence" in str(
            system.failures[0].error
        )


def test_failing_shutdown_hook_does_not_stop_the_others() -> None:
    life = Lifecycle()

    def explode(system: Hybrid) -> None:
        raise RuntimeError("cannot flush")

    system, _ = make_system(
        make_plugin("a", on_shutdown=life.shutdown), make_plugin("b", on_shutdown=explode)
    )
    system.start()
    system.close()
    assert life.calls == ["shutdown"]
    assert any("cannot flush" in p for p in system.problems)


def test_strict_start_failure_raises_and_releases() -> None:
    system, _ = make_system(make_plugin("bad", engines=[object()]), strict=True)
    with pytest.raises(PluginError, match="bad items"):
        system.start()
    assert not system.running


def test_duplicate_strategy_and_executor_names_name_the_owner() -> None:
    class Strategy:
        name = "priority"

        def order(self, candidates: Any, request: Any) -> Any:
            return candidates

    system, _ = make_system(make_plugin("mine", strategies=[Strategy()]))
    with system:
        (failed,) = system.failures
    assert "routing strategy 'priority' is already provided by 'builtin'" in str(failed.error)


def test_malformed_strategies_sinks_and_executors_are_rejected() -> None:
    system, _ = make_system(
        make_plugin("s", strategies=[object()]),
        make_plugin("k", sinks=["not a sink"]),
        make_plugin("e", executors=[LocalExecutor(name="")]),
    )
    with system:
        errors = {r.name: str(r.error) for r in system.failures}
    assert "has no 'name' string attribute" in errors["s"]
    assert "has no 'name' string attribute" in errors["k"]
    assert "has no 'name' string attribute" in errors["e"]


def test_configured_sinks_are_attached_and_a_misspelt_one_is_a_config_error() -> None:
    with Hybrid({"telemetry": {"sinks": ["memory"]}}, entry_points=False) as system:
        assert [s.name for s in system.telemetry.sinks] == ["memory"]
    typo = Hybrid({"telemetry": {"sinks": ["memory", "jsnol"]}}, entry_points=False)
    with pytest.raises(ConfigError, match=r"telemetry.sinks\[1\]: no plugin provides a sink "
                       r"named 'jsnol' \(did you mean 'jsonl'\?\)"):  # fmt: skip
        typo.start()


def test_an_unknown_sink_is_only_reported_when_a_plugin_failed() -> None:
    broken = make_plugin("broken", engines=[object()])
    system = Hybrid({"telemetry": {"sinks": ["otel"]}}, plugins=[broken], entry_points=False)
    with system:
        assert any("no plugin provides a sink named 'otel'" in p for p in system.problems)


def test_unknown_executor_name_falls_back_to_local_and_is_reported() -> None:
    with Hybrid({"executor": {"name": "dask"}}, entry_points=False) as system:
        assert system.executor.name == "local"
        assert any("executor named 'dask'" in p for p in system.problems)


async def test_local_executor_runs_blocking_calls_in_threads() -> None:
    with Hybrid(entry_points=False) as system:
        result = await system.executor.asubmit(Call(sum, ([1, 2, 3],)))
        keyword = await system.executor.asubmit(Call(int, ("ff",), {"base": 16}))
    assert (result, keyword) == (6, 255)


def test_sync_twins_work_inside_a_running_loop() -> None:
    async def host() -> bool:
        system, _ = make_system()
        system.start()  # called from sync code that runs inside a loop
        running = system.running
        system.close()
        return running

    assert asyncio.run(host())


def test_config_can_be_a_path(tmp_path: Any) -> None:
    path = tmp_path / "hybrid.toml"
    path.write_text('[telemetry]\nsinks = ["memory"]\n')
    with Hybrid(path, entry_points=False) as system:
        assert isinstance(system.telemetry.sinks[0], InMemorySink)
    with pytest.raises(TypeError, match="config must be a Config, a mapping, a path or None"):
        Hybrid(42)  # type: ignore[arg-type]


LOGGING_HOST = """
import hybrid_core
from loguru import logger

seen = []
logger.remove()
logger.add(lambda message: seen.append(message.record["message"]), level="WARNING")
logger.{choice}("hybrid_core")  # before the library's logger module has loaded


class Broken:
    @hybrid_core.hookimpl
    def hybrid_engines(self):
        raise RuntimeError("broken on purpose")


with hybrid_core.Hybrid(plugins=[Broken()], entry_points=False):
    pass
print(any("broken on purpose" in m for m in seen))
"""


@pytest.mark.parametrize(("choice", "shown"), [("enable", "True"), ("disable", "False")])
def test_a_hosts_loguru_choice_made_before_start_stands(choice: str, shown: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOGGING_HOST.format(choice=choice)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip() == shown, result.stderr


SYNC_IN_ASYNC_HOST = """
import asyncio, gc
import hybrid_core as hc

wf = hc.Workflow("double", inputs=["x"])
wf.step("twice", lambda x: 2 * x, x=hc.input("x"))
wf.returns("twice")


async def main():
    async with hc.Hybrid(entry_points=False) as system:
        assert system.run(wf, x=2).value == 4  # the sync twin, inside the running loop


asyncio.run(main())
gc.collect()
print("done")
"""


def test_a_sync_twin_inside_an_async_with_system_leaks_no_loop() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", SYNC_IN_ASYNC_HOST],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert (result.stdout.strip(), result.stderr) == ("done", "")


def test_closing_a_sync_system_joins_its_loops_default_executor_threads() -> None:
    import threading

    async def off_loop(x: int) -> int:
        return await asyncio.to_thread(lambda: x + 1)  # the loop's default executor

    wf = Workflow("thread", inputs=["x"])
    wf.step("off", off_loop, x=hc_input("x"))
    wf.returns("off")
    before = {t.ident for t in threading.enumerate()}
    with Hybrid(entry_points=False) as system:
        assert system.run(wf, x=1).value == 2
        assert any(t.name.startswith("hybrid-loop") for t in threading.enumerate())
    left = [t.name for t in threading.enumerate() if t.ident not in before]
    assert left == []


def test_closing_does_not_wait_for_a_thread_call_that_never_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    import hybrid_core._system

    monkeypatch.setattr(hybrid_core._system, "LOOP_THREADS_GRACE", 0.2)
    release = threading.Event()

    async def stuck() -> str:
        asyncio.get_running_loop().run_in_executor(None, release.wait)
        return "left"

    wf = Workflow("stuck")
    wf.step("off", stuck)
    wf.returns("off")
    system = Hybrid(entry_points=False).start()
    try:
        assert system.run(wf).value == "left"
        closing = threading.Thread(target=system.close, daemon=True)
        closing.start()
        closing.join(60)
        assert not closing.is_alive()  # close returned while the thread call still waits
    finally:
        release.set()
