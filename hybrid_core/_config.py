"""Configuration: where it is found, how it is read, and how it is checked.

A configuration comes from ``hybrid.toml``, from ``[tool.hybrid]`` in ``pyproject.toml``
(both searched upward from the working directory), from an explicit file, or from a
mapping a host passes. Checking reports every problem at once, each as
``file: key.path: what is wrong (did you mean ...?)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from ._router import RoutingPolicy
from ._util import close_matches
from .exceptions import ConfigError, ConfigProblem

__all__ = ["Config", "ExecutorConfig", "PluginsConfig", "find_config", "load_config"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class PluginsConfig:
    """``[plugins]``: which entry-point plugins load, and whether a failure is fatal."""

    only: tuple[str, ...] | None = None
    disable: tuple[str, ...] = ()
    strict: bool = False


@attrs.frozen
class ExecutorConfig:
    """``[executor]``: which executor runs blocking work, and the local pools' sizes."""

    name: str = "local"
    max_threads: int | None = None
    max_processes: int | None = None


@attrs.frozen
class Config:
    """A checked configuration. ``source`` names the file it came from, if any."""

    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    executor: ExecutorConfig = attrs.field(factory=ExecutorConfig)
    telemetry: Mapping[str, Any] = _EMPTY
    routing: RoutingPolicy = attrs.field(factory=RoutingPolicy)
    resources: Mapping[str, float] = _EMPTY
    source: str | None = None


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
                where = f"{prefix}.{key}" if prefix else str(key)
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


_SECTIONS = ("plugins", "executor", "telemetry", "routing", "resources")


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
    if check.problems:
        raise ConfigError(check.problems)
    return Config(
        plugins=plugins,
        executor=executor,
        telemetry=telemetry,
        routing=routing,
        resources=resources,
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
    check.unknown_keys(data, "executor", ("name", "max_threads", "max_processes"))
    name = data.get("name", "local")
    if not isinstance(name, str) or not name:
        check.problem("executor.name", f"must be an executor name, not {_kind(name)}")
        name = "local"
    return ExecutorConfig(
        name=name,
        max_threads=check.count(data, "max_threads", "executor.max_threads"),
        max_processes=check.count(data, "max_processes", "executor.max_processes"),
    )


def _telemetry(check: _Checker, data: Mapping[str, Any]) -> Mapping[str, Any]:
    # Sink settings belong to the plugins that provide the sinks; only the list is ours.
    sinks = check.names(data, "sinks", "telemetry.sinks")
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


def _routing(check: _Checker, data: Mapping[str, Any]) -> RoutingPolicy:
    known = ("strategy", "capabilities", *_ROUTING_COUNTS, *_ROUTING_NUMBERS)
    check.unknown_keys(data, "routing", known)
    options: dict[str, Any] = {}
    strategy = data.get("strategy")
    if strategy is not None:
        if isinstance(strategy, str) and strategy:
            options["strategy"] = strategy
        else:
            check.problem("routing.strategy", f"must be a strategy name, not {_kind(strategy)}")
    per_cap = check.table(data, "capabilities") if "capabilities" in data else _EMPTY
    bad = [k for k, v in per_cap.items() if not isinstance(v, str)]
    for key in bad:
        check.problem(f"routing.capabilities.{key}", "must be a strategy name")
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
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            check.problem(f"routing.{key}", f"must be a number, not {_kind(value)}")
        elif value < low or (high is not None and value > high):
            limits = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            check.problem(f"routing.{key}", f"must be {limits}, not {value}")
        else:
            options[key] = float(value)
    return RoutingPolicy(**options)


def _resources(check: _Checker, data: Mapping[str, Any]) -> Mapping[str, float]:
    out: dict[str, float] = {}
    for name, size in data.items():
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not size > 0:
            check.problem(f"resources.{name}", f"must be a number > 0, not {_kind(size)}")
        else:
            out[name] = float(size)
    return MappingProxyType(out)


def _read_toml(path: Path) -> Mapping[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as f:
            document: dict[str, Any] = tomllib.load(f)
            return document
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem(str(path), "", "file not found; check the path given to --config")]
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            [ConfigProblem(str(path), "", "is a directory; give the path of a TOML file")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"is not UTF-8 text: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), "", f"is not valid TOML: {exc}; fix the syntax there")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), "", f"cannot be read: {exc.strerror}")]
        ) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a config file: ``hybrid.toml``-style, or a ``pyproject.toml``.

    In a ``pyproject.toml`` only the ``[tool.hybrid]`` table is read.
    """
    p = Path(path)
    document = _read_toml(p)
    if p.name == "pyproject.toml":
        tool = document.get("tool", {})
        document = tool.get("hybrid", {}) if isinstance(tool, Mapping) else {}
    return config_from_mapping(document, source=str(p))


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``hybrid.toml``, or ``pyproject.toml`` with ``[tool.hybrid]``, upward."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "hybrid.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_hybrid(pyproject):
            return pyproject
    return None


def _has_tool_hybrid(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # A cheap pre-check; the real parse happens when the file is loaded.
    return "[tool.hybrid" in text
