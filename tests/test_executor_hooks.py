"""What the core gives an executor plugin: its [executor.NAME] table, astart, keyed calls."""

from __future__ import annotations

from typing import Any

import pytest

import hybrid_core as hc
from hybrid_core import Call, ConfigError, ConfigProblem, ExecutorError, Hybrid


class Recording:
    """An executor that runs calls inline and keeps them."""

    name = "rec"

    def __init__(self, settings: Any = None, fail_start: bool = False) -> None:
        self.settings, self.calls, self.fail_start = settings, [], fail_start
        self.started = False

    async def astart(self) -> None:
        if self.fail_start:
            raise ExecutorError("rec", "no cluster at tcp://nowhere:1")
        self.started = True

    async def asubmit(self, call: Call) -> Any:
        self.calls.append(call)
        return call()

    async def aclose(self) -> None:
        pass


def double(x: int) -> int:
    return 2 * x


def double_payload(payload: dict[str, int]) -> int:
    return 2 * payload["x"]


def _plugin(executor: Recording, problems: list[ConfigProblem] | None = None) -> object:
    class Plugin:
        name = "recplugin"

        @hc.hookimpl
        def hybrid_executors(self, settings: Any) -> list[Recording]:
            if problems:
                raise ConfigError(problems)
            executor.settings = settings
            return [executor]

        @hc.hookimpl
        def hybrid_engines(self) -> list[hc.Engine]:
            return [hc.Engine(name="t.double", capabilities={"t.double": 1},
                              handler=double_payload, blocking=True,
                              resources={"cpu": 1})]  # fmt: skip

    return Plugin()


def test_the_executor_gets_its_table_and_is_started_when_chosen() -> None:
    rec = Recording()
    config = {"executor": {"name": "rec", "rec": {"size": 3}}, "resources": {"cpu": 2}}
    with Hybrid(config, plugins=[_plugin(rec)], entry_points=False) as system:
        assert rec.settings["rec"] == {"size": 3} and rec.started
        wf = hc.Workflow("w", inputs=["x"])
        wf.add(hc.capability_step("d", "t.double", route_retries=0, x=hc.input("x")))
        wf.map("m", double, over=[1, 2], blocking=True)
        wf.step("s", double, x=1, blocking=True)
        result = system.run(wf, x=4)
        assert result.ok, result.error
    keys = sorted(c.key for c in rec.calls)
    run = result.run_id
    assert keys == sorted([f"{run}/d/t.double#1", f"{run}/m[0]#1", f"{run}/m[1]#1", f"{run}/s#1"])
    (engine_call,) = [c for c in rec.calls if c.key.endswith("t.double#1")]
    assert engine_call.resources == {"cpu": 1}


def test_a_bad_executor_table_is_the_files_problem_reported_with_the_others() -> None:
    bad = [ConfigProblem("", "executor.rec.sise", "unknown setting (did you mean 'size'?)")]
    with pytest.raises(ConfigError) as caught:
        Hybrid({"executor": {"name": "rec", "rec": {"sise": 3}}},
               plugins=[_plugin(Recording(), bad)], entry_points=False).start()  # fmt: skip
    (problem,) = caught.value.problems
    assert problem.key == "executor.rec.sise" and "did you mean 'size'" in problem.message


def test_a_table_for_no_executor_is_reported_and_a_failed_astart_stops_the_start() -> None:
    with Hybrid({"executor": {"rc": {}}}, plugins=[_plugin(Recording())],
                entry_points=False) as system:  # fmt: skip
        assert any("executor.rc" in p and "did you mean 'rec'" in p for p in system.problems)
    failing = Recording(fail_start=True)
    with pytest.raises(ExecutorError, match="tcp://nowhere:1"):
        Hybrid({"executor": {"name": "rec"}}, plugins=[_plugin(failing)],
               entry_points=False).start()  # fmt: skip
