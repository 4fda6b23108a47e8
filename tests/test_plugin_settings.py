"""A plugin's settings table, declared as an attrs class and checked like the core's keys."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest
from clitools import run_hybrid

import hybrid_core as hc
from hybrid_core import ConfigError, Hybrid


@attrs.frozen
class AcmeSettings:
    endpoint: str = "http://localhost:4318"
    batch: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    ratio: float = 0.5
    format: Literal["json", "text"] = "json"
    tags: list[str] = attrs.Factory(list)
    limit: int | None = None


class AcmePlugin:
    """A sink plugin that declares [telemetry.acme] and records what its hook got."""

    name = "acme"

    def __init__(self) -> None:
        self.seen: Mapping[str, Any] | None = None
        self.options: AcmeSettings | None = None

    @hc.hookimpl
    def hybrid_settings(self) -> Mapping[str, type]:
        return {"telemetry.acme": AcmeSettings}

    @hc.hookimpl
    def hybrid_telemetry_sinks(self, settings: Mapping[str, Any]) -> list[hc.Sink]:
        self.seen = settings
        if "acme" not in settings["sinks"]:
            return []
        options = AcmeSettings(**settings.get("acme", {}))
        self.options = options
        return [hc.InMemorySink(name="acme")]


def _start(table: Mapping[str, Any]) -> ConfigError:
    config = {"telemetry": {"sinks": ["acme"], "acme": table}}
    with pytest.raises(ConfigError) as caught:
        Hybrid(config, plugins=[AcmePlugin()], entry_points=False).start()
    return caught.value


def test_every_bad_key_is_reported_at_once_with_its_path() -> None:
    error = _start({"endpiont": "x", "batch": "ten", "ratio": True, "format": "xml",
                    "tags": ["a", 1], "limit": 2.5})  # fmt: skip
    found = {p.key: p.message for p in error.problems}
    assert found == {
        "telemetry.acme.endpiont": "unknown setting (did you mean 'endpoint'?)",
        "telemetry.acme.batch": "must be a whole number, not a string ('ten')",
        "telemetry.acme.ratio": "must be a number, not a boolean (True)",
        "telemetry.acme.format": "must be one of 'json', 'text', not a string ('xml')",
        "telemetry.acme.tags": "must be a list of strings, not a list",
        "telemetry.acme.limit": "must be a whole number, not a number (2.5)",
    }


def test_the_classes_validators_run_once_the_types_fit() -> None:
    (problem,) = _start({"batch": 0}).problems
    assert problem.key == "telemetry.acme" and "ValueError" in problem.message
    assert "batch" in problem.message


def test_a_refused_table_never_reaches_the_hook_and_the_plugin_stays_loaded() -> None:
    # The hook builds AcmeSettings(**table): with the unknown key it would raise, and
    # the plugin would be reported failed beside the file's one real problem.
    plugin = AcmePlugin()
    config = {"telemetry": {"sinks": ["acme"], "acme": {"bacth": 3}}}
    system = Hybrid(config, plugins=[plugin], entry_points=False)
    with pytest.raises(ConfigError) as caught:
        system.start()
    assert [p.key for p in caught.value.problems] == ["telemetry.acme.bacth"]
    assert plugin.seen is None
    assert [r.status for r in system.plugins if r.name == "acme"] == ["loaded"]


def test_a_good_table_reaches_the_hook_and_the_sink_is_attached() -> None:
    plugin = AcmePlugin()
    config = {"telemetry": {"sinks": ["acme"], "acme": {"format": "text", "tags": ["x"]}}}
    with Hybrid(config, plugins=[plugin], entry_points=False) as system:
        assert [s.name for s in system.telemetry.sinks] == ["acme"]
        assert system.failures == []
    assert plugin.options == AcmeSettings(format="text", tags=["x"])
    assert plugin.seen is not None and plugin.seen["acme"]["tags"] == ["x"]


def test_the_hooks_get_their_documented_keys_with_no_configuration() -> None:
    for config in (None, hc.Config()):
        plugin = AcmePlugin()
        with Hybrid(config, plugins=[plugin], entry_points=False) as system:
            assert system.failures == []
        assert plugin.seen is not None and list(plugin.seen["sinks"]) == []
    assert hc.Config().executor.settings["name"] == "local"


def test_a_malformed_declaration_fails_the_plugin() -> None:
    class Bad:
        @hc.hookimpl
        def hybrid_settings(self) -> Mapping[str, object]:
            return {"engines.acme": AcmeSettings, "executor.acme": dict}

    with Hybrid(plugins=[Bad()], entry_points=False) as system:
        (failed,) = system.failures
    error = str(failed.error)
    sections = "'telemetry.NAME', 'executor.NAME' nor 'routing.NAME'"
    assert f"'engines.acme', which is not {sections}" in error
    assert "which is not an attrs class" in error


PLUGIN = """
from typing import Literal
import attrs
import hybrid_core

@attrs.frozen
class Settings:
    address: str = "tcp://localhost:1"
    workers: int = 1
    mode: Literal["fast", "safe"] = "safe"

@hybrid_core.hookimpl
def hybrid_settings():
    return {"executor.acmex": Settings}

class AcmeExecutor:
    name = "acmex"
    async def asubmit(self, call):
        return call.fn(*call.args, **call.kwargs)
    async def aclose(self):
        pass

@hybrid_core.hookimpl
def hybrid_executors(settings):
    Settings(**settings.get("acmex", {}))
    return [AcmeExecutor()]
"""


def test_validate_reports_a_plugins_bad_keys_with_the_file_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "acmex_plugin.py").write_text(textwrap.dedent(PLUGIN))
    config = tmp_path / "hybrid.toml"
    config.write_text('[telemetry]\nsinks = ["jsnol"]\n[executor.acmex]\nadress = "x"\n'
                      'workers = "2"\n')  # fmt: skip
    result = run_hybrid("-p", "acmex_plugin", "validate", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert f"{config}: executor.acmex.adress: unknown setting (did you mean 'address'?)" in lines
    assert f"{config}: executor.acmex.workers: must be a whole number, not a string ('2')" in lines
    assert any(line.startswith(f"{config}: telemetry.sinks[0]:") for line in lines)
    config.write_text('[executor.acmex]\nmode = "fast"\n')
    assert run_hybrid("-p", "acmex_plugin", "validate", cwd=tmp_path).returncode == 0
