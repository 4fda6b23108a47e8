"""A routing strategy's own options table, ``[routing.NAME]``, declared and checked."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from clitools import run_hybrid

import hybrid_core as hc
from hybrid_core import ConfigError, Engine, Hybrid, load_config


@attrs.frozen
class PinSettings:
    prefer: str = ""
    skip: list[str] = attrs.Factory(list)
    limit: int = attrs.field(default=2, validator=attrs.validators.ge(1))


class PinStrategy:
    """Tries the provider its options prefer first, leaves out the skipped ones."""

    name = "pinned"

    def __init__(self, options: PinSettings) -> None:
        self.options = options

    def order(self, candidates: Sequence[hc.Provider], request: hc.RouteRequest) -> list[Any]:
        kept = [p for p in candidates if p.name not in self.options.skip]
        kept.sort(key=lambda p: p.name != self.options.prefer)
        return kept[: self.options.limit]


class PinPlugin:
    """Declares [routing.pinned] and builds its strategy from the table it is given."""

    name = "pin"

    def __init__(self) -> None:
        self.seen: Mapping[str, Any] | None = None

    @hc.hookimpl
    def hybrid_settings(self) -> Mapping[str, type]:
        return {"routing.pinned": PinSettings}

    @hc.hookimpl
    def hybrid_engines(self) -> list[Engine]:
        return [Engine(name=n, capabilities={"text.who": 5}, handler=lambda p, n=n: n)
                for n in ("alpha", "beta", "gamma")]  # fmt: skip

    @hc.hookimpl
    def hybrid_routing_strategies(self, settings: Mapping[str, Any]) -> list[PinStrategy]:
        self.seen = settings
        return [PinStrategy(PinSettings(**settings.get("pinned", {})))]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hybrid.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _problems(path: Path, plugin: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        Hybrid(path, plugins=[plugin], entry_points=False).start()
    return {p.key: p.message for p in caught.value.problems}


def test_the_strategy_gets_its_table_and_routes_by_it(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        [routing]
        strategy = "pinned"
        retries = 1
        [routing.pinned]
        prefer = "gamma"
        skip = ["alpha"]
    """)  # fmt: skip
    plugin = PinPlugin()
    with Hybrid(path, plugins=[plugin], entry_points=False) as system:
        assert system.failures == [] and system.problems == []
        assert system.execute("text.who", {}) == "gamma"
    assert plugin.seen is not None
    assert plugin.seen["pinned"] == {"prefer": "gamma", "skip": ["alpha"]}
    assert plugin.seen["retries"] == 1 and plugin.seen["strategy"] == "pinned"


def test_the_hook_gets_every_fixed_key_with_no_configuration() -> None:
    plugin = PinPlugin()
    with Hybrid(plugins=[plugin], entry_points=False) as system:
        assert system.failures == []
    assert plugin.seen is not None
    fixed = hc.RoutingPolicy()
    assert plugin.seen["strategy"] == "priority" and plugin.seen["capabilities"] == {}
    assert plugin.seen["retries"] == fixed.retries and plugin.seen["jitter"] == fixed.jitter
    assert "pinned" not in plugin.seen and "strategy_settings" not in plugin.seen


def test_a_misspelled_option_and_a_wrong_type_are_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        [routing.pinned]
        perfer = "gamma"
        skip = "alpha"
    """)  # fmt: skip
    plugin = PinPlugin()
    assert _problems(path, plugin) == {
        "routing.pinned.perfer": "unknown setting (did you mean 'prefer'?)",
        "routing.pinned.skip": "must be a list of strings, not a string ('alpha')",
    }
    assert plugin.seen is None  # a refused table never reaches the hook


def test_the_classes_validators_run_once_the_types_fit(tmp_path: Path) -> None:
    path = _write(tmp_path, "[routing.pinned]\nlimit = 0\n")
    ((key, message),) = _problems(path, PinPlugin()).items()
    assert key == "routing.pinned" and "ValueError" in message and "limit" in message


def test_a_table_for_no_strategy_names_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "[routing.pinnde]\nprefer = 'beta'\n")
    with Hybrid(path, plugins=[PinPlugin()], entry_points=False) as system:
        (problem,) = system.problems
    assert problem == (
        f"{path}: routing.pinnde: settings for a routing strategy named 'pinnde', "
        "which no loaded plugin provides (did you mean 'pinned'?)"
    )


def test_a_strategy_without_a_schema_gets_its_table_unchecked(tmp_path: Path) -> None:
    class Loose:
        def __init__(self) -> None:
            self.seen: Mapping[str, Any] | None = None

        @hc.hookimpl
        def hybrid_routing_strategies(self, settings: Mapping[str, Any]) -> list[PinStrategy]:
            self.seen = settings
            return [PinStrategy(PinSettings(prefer=settings["pinned"]["anything"]))]

    path = _write(tmp_path, "[routing.pinned]\nanything = 'beta'\n")
    plugin = Loose()
    with Hybrid(path, plugins=[plugin], entry_points=False) as system:
        assert system.failures == [] and system.problems == []
    assert plugin.seen is not None and plugin.seen["pinned"] == {"anything": "beta"}


def test_an_old_style_hook_without_settings_keeps_working(tmp_path: Path) -> None:
    class OldStyle:
        @hc.hookimpl
        def hybrid_engines(self) -> list[Engine]:
            return [Engine(name="only", capabilities={"text.who": 1}, handler=lambda p: "x")]

        @hc.hookimpl
        def hybrid_routing_strategies(self) -> list[PinStrategy]:
            return [PinStrategy(PinSettings(prefer="only"))]

    path = _write(tmp_path, '[routing]\nstrategy = "pinned"\n')
    with Hybrid(path, plugins=[OldStyle()], entry_points=False) as system:
        assert system.failures == [] and system.problems == []
        assert "pinned" in system.strategies
        assert system.execute("text.who", {}) == "x"


def test_the_fixed_keys_and_capabilities_still_validate(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        [routing]
        strategy = "round_robin"
        retries = 3
        jitter = 0.5
        [routing.capabilities]
        "text.who" = "pinned"
        [routing.pinned]
        prefer = "beta"
    """)  # fmt: skip
    policy = load_config(path).routing
    assert (policy.strategy, policy.retries, policy.jitter) == ("round_robin", 3, 0.5)
    assert policy.capability_strategies == {"text.who": "pinned"}
    assert policy.strategy_settings == {"pinned": {"prefer": "beta"}}
    with Hybrid(path, plugins=[PinPlugin()], entry_points=False) as system:
        assert system.execute("text.who", {}) == "beta"
    bad = _write(tmp_path, "[routing]\nretrys = 3\njitter = 2\n[routing.retries]\nx = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert {p.key: p.message for p in caught.value.problems} == {
        "routing.retrys": "unknown key (did you mean 'retries'?)",
        "routing.jitter": "must be between 0 and 1, not 2",
        "routing.retries": "must be a whole number >= 0, not a table",
    }


def test_a_strategy_named_like_a_fixed_key_is_refused() -> None:
    class Clash:
        name = "retries"

        def order(self, candidates: Sequence[hc.Provider], request: hc.RouteRequest) -> Any:
            return list(candidates)

    class Plugin:
        @hc.hookimpl
        def hybrid_routing_strategies(self) -> list[Clash]:
            return [Clash()]

    class Declares:
        @hc.hookimpl
        def hybrid_settings(self) -> Mapping[str, type]:
            return {"routing.capabilities": PinSettings}

    with Hybrid(plugins=[Plugin(), Declares()], entry_points=False) as system:
        first, second = (str(r.error) for r in system.failures)
    assert "named 'retries', a fixed key of [routing]" in first
    assert "give the strategy another name" in first
    assert "'routing.capabilities', which is a fixed key of [routing]" in second


PLUGIN = """
import attrs
import hybrid_core

@attrs.frozen
class Settings:
    prefer: str = ""
    limit: int = attrs.field(default=1, validator=attrs.validators.ge(1))

class Pinned:
    name = "pinned"
    def __init__(self, options):
        self.options = options
    def order(self, candidates, request):
        return sorted(candidates, key=lambda p: p.name != self.options.prefer)

@hybrid_core.hookimpl
def hybrid_settings():
    return {"routing.pinned": Settings}

@hybrid_core.hookimpl
def hybrid_routing_strategies(settings):
    return [Pinned(Settings(**settings.get("pinned", {})))]
"""


def test_validate_reports_strategy_options_with_the_file_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pinned_plugin.py").write_text(textwrap.dedent(PLUGIN))
    config = _write(tmp_path, """
        [routing.pinned]
        prefr = "x"
        limit = "2"
        [routing.pined]
        prefer = "x"
    """)  # fmt: skip
    result = run_hybrid("-p", "pinned_plugin", "validate", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert f"{config}: routing.pinned.prefr: unknown setting (did you mean 'prefer'?)" in lines
    assert f"{config}: routing.pinned.limit: must be a whole number, not a string ('2')" in lines
    config.write_text("[routing.pinned]\nlimit = 0\n")
    result = run_hybrid("-p", "pinned_plugin", "validate", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert any(line.startswith(f"{config}: routing.pinned: ValueError") for line in
               result.stderr.splitlines())  # fmt: skip
    config.write_text("[routing.pined]\nprefer = 'x'\n")
    result = run_hybrid("-p", "pinned_plugin", "validate", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert (
        f"{config}: routing.pined: settings for a routing strategy named 'pined', which no "
        "loaded plugin provides (did you mean 'pinned'?)"
    ) in result.stderr.splitlines()
    config.write_text('[routing]\nstrategy = "pinned"\n[routing.pinned]\nprefer = "x"\n')
    result = run_hybrid("-p", "pinned_plugin", "validate", cwd=tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
