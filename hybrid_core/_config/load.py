"""Configuration: where it is found, how it is read, and how it is checked.

A configuration comes from ``hybrid.toml``, from ``[tool.hybrid]`` in ``pyproject.toml``
(both searched upward from the working directory), from an explicit file, or from a
mapping a host passes. Checking reports every problem at once, each as
``file: key.path: what is wrong (did you mean ...?)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from .._core.util import close_matches, gc_paused
from .._routing.router import RoutingPolicy
from .._telemetry.builtin import check_settings
from ..exceptions import ConfigError, ConfigProblem
from .compose import Composed, compose_file, join_key, read_regular

__all__ = ["Config", "ExecutorConfig", "PluginsConfig", "find_config", "load_config"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _no_sinks() -> Mapping[str, Any]:
    # The documented key is there even with no [telemetry] table: plugins read it.
    return MappingProxyType({"sinks": []})


def _local() -> Mapping[str, Any]:
    return MappingProxyType({"name": "local"})


@attrs.frozen
class PluginsConfig:
    """``[plugins]``: which entry-point plugins load, and whether a failure is fatal."""

    only: tuple[str, ...] | None = None
    disable: tuple[str, ...] = ()
    strict: bool = False


@attrs.frozen
class ExecutorConfig:
    """``[executor]``: which executor runs blocking work, and the local pools' sizes.

    ``settings`` is the whole table, read-only, as ``hybrid_executors(settings)`` gets it
    (its ``name`` key always set): an ``[executor.NAME]`` table holds the options of the
    executor named NAME, which its plugin checks.
    """

    name: str = "local"
    max_threads: int | None = None
    max_processes: int | None = None
    close_grace: float = 10.0
    settings: Mapping[str, Any] = attrs.field(factory=_local)


@attrs.frozen
class RunsConfig:
    """``[runs]``: the run journal (where, how durable, which codec, how long kept).

    ``path`` is relative to the configuration file's folder; None means the CLI's default
    (``.hybrid/runs.sqlite3`` beside the configuration) and no journal for a host.
    """

    enabled: bool = True
    path: str | None = None
    durability: str = "process"
    codec: str = "json"
    lease: float = 30.0
    busy_timeout: float = 5.0
    keep: int | None = 200
    keep_days: float | None = 30.0


@attrs.frozen
class EngineOverride:
    """``[engines.NAME]``: adjust an engine a plugin provides, or leave it out."""

    enable: bool = True
    priority: int | Mapping[str, int] | None = None
    max_concurrency: int | None = None
    timeout: float | None = None
    resources: Mapping[str, float] | None = None


@attrs.frozen
class Config:
    """A checked configuration. ``source`` names the file it came from, if any."""

    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    executor: ExecutorConfig = attrs.field(factory=ExecutorConfig)
    telemetry: Mapping[str, Any] = attrs.field(factory=_no_sinks)
    routing: RoutingPolicy = attrs.field(factory=RoutingPolicy)
    resources: Mapping[str, float] = _EMPTY
    engines: Mapping[str, EngineOverride] = _EMPTY
    workflows: Mapping[str, Any] = _EMPTY
    runs: RunsConfig = attrs.field(factory=RunsConfig)
    source: str | None = None
    composed: Composed | None = attrs.field(default=None, repr=False, eq=False)


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = close_matches(name, known)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(sorted(known))})" if known else ""


class _Checker:
    """Collects problems while reading one mapping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(self.source, key, message))

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, _EMPTY)
        if not isinstance(value, Mapping):
            self.problem(key, f"must be a table, not {_kind(value)}")
            return _EMPTY
        return value

    def unknown_keys(self, data: Mapping[str, Any], prefix: str, known: Sequence[str]) -> None:
        for key in data:
            if key not in known:
                where = _key(prefix, key)
                self.problem(where, f"unknown key{_did_you_mean(str(key), known)}")

    def names(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if (
            isinstance(value, str)
            or not isinstance(value, list)
            or not all(isinstance(v, str) for v in value)
        ):
            self.problem(path, f'must be a list of names, e.g. ["pyast"], not {_kind(value)}')
            return None
        return tuple(value)

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {_kind(value)}")
            return default
        return value

    def count(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(path, f"must be a whole number of at least 1, not {_kind(value)}")
            return None
        return value


def _key(prefix: str, name: object) -> str:
    """A key path: ``prefix`` then ``name``, quoted as TOML would when it needs to be."""
    tail = join_key([str(name)])
    return f"{prefix}.{tail}" if prefix else tail


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or None (not a number, NaN, infinite, too large)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _kind(value: object) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    for t, n in names.items():
        if type(value) is t:
            return f"{n} ({value!r})" if t in (str, bool, int, float) else n
    return type(value).__name__


_SECTIONS = (
    "plugins",
    "executor",
    "telemetry",
    "routing",
    "resources",
    "engines",
    "workflows",
    "runs",
)


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> Config:
    """Check ``data`` (the parsed TOML document, or a host's mapping) and build a Config."""
    check = _Checker(source)
    if not isinstance(data, Mapping):
        check.problem("", f"a configuration must be a table, not {_kind(data)}")
        raise ConfigError(check.problems)
    check.unknown_keys(data, "", _SECTIONS)
    plugins = _plugins(check, check.table(data, "plugins"))
    executor = _executor(check, check.table(data, "executor"))
    telemetry = _telemetry(check, check.table(data, "telemetry"))
    routing = _routing(check, check.table(data, "routing"))
    resources = _resources(check, check.table(data, "resources"))
    engines = _engines(check, check.table(data, "engines"))
    workflows = check.table(data, "workflows")  # built and checked when the system starts
    runs = _runs(check, check.table(data, "runs"))
    if check.problems:
        raise ConfigError(check.problems)
    return Config(
        plugins=plugins,
        executor=executor,
        telemetry=telemetry,
        routing=routing,
        resources=resources,
        engines=engines,
        workflows=MappingProxyType(dict(workflows)),
        runs=runs,
        source=source,
    )


def _plugins(check: _Checker, data: Mapping[str, Any]) -> PluginsConfig:
    check.unknown_keys(data, "plugins", ("only", "disable", "strict"))
    return PluginsConfig(
        only=check.names(data, "only", "plugins.only"),
        disable=check.names(data, "disable", "plugins.disable") or (),
        strict=check.boolean(data, "strict", "plugins.strict", False),
    )


def _executor(check: _Checker, data: Mapping[str, Any]) -> ExecutorConfig:
    # A table is an executor's own options ([executor.dask]); its plugin checks them.
    own = {k for k, v in data.items() if isinstance(v, Mapping)}
    scalars = {k: v for k, v in data.items() if k not in own}
    check.unknown_keys(scalars, "executor", ("name", "max_threads", "max_processes", "close_grace"))
    name = data.get("name", "local")
    if not isinstance(name, str) or not name:
        check.problem("executor.name", f"must be an executor name, not {_kind(name)}")
        name = "local"
    given = data.get("close_grace", 10.0)
    grace = _finite(given)
    if grace is None or grace < 0:
        shown = given if grace is not None else _kind(given)
        check.problem("executor.close_grace", f"must be a number of seconds >= 0, not {shown}")
        grace = 10.0
    return ExecutorConfig(
        name=name,
        max_threads=check.count(data, "max_threads", "executor.max_threads"),
        max_processes=check.count(data, "max_processes", "executor.max_processes"),
        close_grace=grace,
        settings=MappingProxyType({**data, "name": name}),
    )


_DURABILITY = ("process", "power", "off")
_RUNS_KEYS = (
    "enabled",
    "path",
    "durability",
    "codec",
    "lease",
    "busy_timeout",
    "keep",
    "keep_days",
)


def _runs(check: _Checker, data: Mapping[str, Any]) -> RunsConfig:
    check.unknown_keys(data, "runs", _RUNS_KEYS)
    default = RunsConfig()
    path = data.get("path")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        check.problem("runs.path", f"must be a file path, not {_kind(path)}")
        path = None
    durability = data.get("durability", default.durability)
    if durability not in _DURABILITY:
        check.problem(
            "runs.durability",
            f"must be one of {', '.join(map(repr, _DURABILITY))}, not {_kind(durability)}"
            + (_did_you_mean(durability, _DURABILITY) if isinstance(durability, str) else ""),
        )
        durability = default.durability
    codec = data.get("codec", default.codec)
    if not isinstance(codec, str) or not codec:
        check.problem("runs.codec", f"must be a codec name such as 'json', not {_kind(codec)}")
        codec = default.codec
    seconds = {}
    for key in ("lease", "busy_timeout"):
        given = data.get(key, getattr(default, key))
        number = _finite(given)
        if number is None or number <= 0:
            shown = given if number is not None else _kind(given)
            check.problem(f"runs.{key}", f"must be a number of seconds > 0, not {shown}")
            number = getattr(default, key)
        seconds[key] = number
    keep_days = data.get("keep_days", default.keep_days)
    days = _finite(keep_days)
    if days is None or days < 0:
        shown = keep_days if days is not None else _kind(keep_days)
        check.problem("runs.keep_days", f"must be a number of days >= 0, not {shown}")
        days = default.keep_days
    keep = check.count(data, "keep", "runs.keep") if "keep" in data else default.keep
    return RunsConfig(
        enabled=check.boolean(data, "enabled", "runs.enabled", True),
        path=path,
        durability=durability,
        codec=codec,
        keep=keep,
        keep_days=days,
        **seconds,
    )


def _telemetry(check: _Checker, data: Mapping[str, Any]) -> Mapping[str, Any]:
    # Only the built-in sinks' tables are checked here; other sinks' settings belong to
    # the plugins that provide them.
    sinks = check.names(data, "sinks", "telemetry.sinks")
    check_settings(data, check.problem)
    out = dict(data)
    out["sinks"] = list(sinks or ())
    return MappingProxyType(out)


_ROUTING_NUMBERS = {
    # key: (smallest allowed, largest allowed or None)
    "backoff": (0.0, None),
    "factor": (1.0, None),
    "max_backoff": (0.0, None),
    "jitter": (0.0, 1.0),
    "retry_budget": (0.0, None),
    "min_retries_per_second": (0.0, None),
    "cooldown": (0.0, None),
    "max_cooldown": (0.0, None),
    "latency_tau": (0.001, None),
}
_ROUTING_COUNTS = ("retries", "cooldown_after")


# The fixed keys of [routing]; any other table, [routing.NAME], is strategy NAME's options.
ROUTING_KEYS = ("strategy", "capabilities", *_ROUTING_COUNTS, *_ROUTING_NUMBERS)


def _routing(check: _Checker, data: Mapping[str, Any]) -> RoutingPolicy:
    # A table that is no fixed key is a strategy's own options ([routing.NAME]); the
    # plugin that provides the strategy checks them.
    own = {k: v for k, v in data.items() if isinstance(v, Mapping) and k not in ROUTING_KEYS}
    scalars = {k: v for k, v in data.items() if k not in own}
    check.unknown_keys(scalars, "routing", ROUTING_KEYS)
    options: dict[str, Any] = {"strategy_settings": MappingProxyType(dict(own))}
    strategy = data.get("strategy")
    if strategy is not None:
        if isinstance(strategy, str) and strategy:
            options["strategy"] = strategy
        else:
            check.problem("routing.strategy", f"must be a strategy name, not {_kind(strategy)}")
    per_cap = check.table(data, "capabilities") if "capabilities" in data else _EMPTY
    bad = [k for k, v in per_cap.items() if not isinstance(v, str) or not v or not k]
    for key in bad:
        given = per_cap[key]
        what = "a capability name" if not key else "a strategy name"
        check.problem(_key("routing.capabilities", key), f"must map {what} to a strategy "
                      f'name, e.g. "python.lint" = "round_robin", not {_kind(given)}')  # fmt: skip
    options["capability_strategies"] = {k: v for k, v in per_cap.items() if k not in bad}
    for key in _ROUTING_COUNTS:
        value = data.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                check.problem(f"routing.{key}", f"must be a whole number >= 0, not {_kind(value)}")
            else:
                options[key] = value
    for key, (low, high) in _ROUTING_NUMBERS.items():
        value = data.get(key)
        if value is None:
            continue
        number = _finite(value)
        if number is None:
            check.problem(f"routing.{key}", f"must be a finite number, not {_kind(value)}")
        elif number < low or (high is not None and number > high):
            limits = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            check.problem(f"routing.{key}", f"must be {limits}, not {value}")
        else:
            options[key] = number
    return RoutingPolicy(**options)


def _resources(
    check: _Checker, data: Mapping[str, Any], *, prefix: str = "resources"
) -> Mapping[str, float]:
    out: dict[str, float] = {}
    for name, size in data.items():
        if not name:
            check.problem(_key(prefix, name), "a resource pool needs a name, e.g. cpu = 2")
            continue
        number = _finite(size)
        if number is None or not number > 0:
            check.problem(_key(prefix, name), f"must be a finite number > 0, not {_kind(size)}")
        else:
            out[name] = number
    return MappingProxyType(out)


_ENGINE_KEYS = ("enable", "priority", "max_concurrency", "timeout", "resources")


def _engines(check: _Checker, data: Mapping[str, Any]) -> Mapping[str, EngineOverride]:
    out: dict[str, EngineOverride] = {}
    for name, table in data.items():
        key = _key("engines", name)
        if not isinstance(table, Mapping):
            check.problem(key, f"must be a table, not {_kind(table)}")
            continue
        check.unknown_keys(table, key, _ENGINE_KEYS)
        priority = table.get("priority")
        if priority is not None and not _is_priority(priority):
            check.problem(f"{key}.priority",
                          "must be an int >= 0, or a table of capability = int >= 0")  # fmt: skip
            priority = None
        timeout = table.get("timeout")
        if timeout is not None and not ((_finite(timeout) or 0) > 0):
            check.problem(
                f"{key}.timeout", f"must be a number of seconds > 0, not {_kind(timeout)}"
            )
            timeout = None
        resources = None
        if "resources" in table:
            resources = _resources(
                check, check.table(table, "resources"), prefix=f"{key}.resources"
            )
        out[str(name)] = EngineOverride(
            enable=check.boolean(table, "enable", f"{key}.enable", True),
            priority=priority,
            max_concurrency=check.count(table, "max_concurrency", f"{key}.max_concurrency"),
            timeout=float(timeout) if timeout is not None else None,
            resources=resources,
        )
    return MappingProxyType(out)


def _is_priority(value: object) -> bool:
    def one(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if isinstance(value, Mapping):
        return all(isinstance(k, str) and one(v) for k, v in value.items())
    return one(value)


def load_config(
    path: str | os.PathLike[str],
    *,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Read, compose and check a config file: ``hybrid.toml``-style, or a ``pyproject.toml``.

    ``extends`` files are merged in, the ``[profile.NAME]`` overlay chosen by ``profile``
    is applied, ``${VAR}`` and ``${VAR:-default}`` are read from ``env`` (default
    ``os.environ``). In a ``pyproject.toml`` only the ``[tool.hybrid]`` table is read.
    Every problem names the file and key that set the offending value.
    """
    with gc_paused():
        return config_from_composed(compose_file(path, profile=profile, env=env))


def config_from_composed(composed: Composed) -> Config:
    """Check a composed document; problems point at the file and key that set each value."""
    try:
        config = config_from_mapping(composed.data, source=composed.source)
    except ConfigError as exc:
        raise ConfigError(composed.relocate(exc.problems)) from None
    return attrs.evolve(config, composed=composed)


def find_config(
    start: str | os.PathLike[str] | None = None, *, home: str | os.PathLike[str] | None = None
) -> Path | None:
    """The nearest ``hybrid.toml``, or ``pyproject.toml`` with ``[tool.hybrid]``, upward.

    The search stops at the repository root (the first folder holding ``.git``) or at
    the home folder (``home``, default ``Path.home()``), whichever comes first: a
    configuration names the Python functions a run calls, so one in a folder above the
    project, which nobody named, is not obeyed. When neither is above ``start``, only
    ``start`` itself is searched.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in search_folders(here, home=home):
        candidate = folder / "hybrid.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_hybrid(pyproject):
            return pyproject
    return None


def search_folders(here: Path, *, home: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders :func:`find_config` looks in, nearest first."""
    try:
        top = Path(home).resolve() if home is not None else Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder can be determined
        top = None
    folders = []
    for folder in (here, *here.parents):
        folders.append(folder)
        if folder == top or (folder / ".git").exists():
            return folders
    return [here]


def _has_tool_hybrid(path: Path) -> bool:
    try:
        text = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # A cheap pre-check; the real parse happens when the file is loaded.
    return "[tool.hybrid" in text
