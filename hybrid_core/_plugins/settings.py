"""A plugin's own settings tables, checked against the attrs class it declares.

A plugin's ``hybrid_settings()`` hook returns ``{"executor.dask": DaskSettings}``: the
table's key path (``telemetry.NAME``, ``executor.NAME`` or ``routing.NAME``), and an
attrs class whose fields are the table's keys. Before the plugin's hooks read the table,
every key is checked as the core checks its own: an unknown key gets a did-you-mean, a
value of the wrong type says what it must be, and then the class is built once, so its
validators run. Every problem is reported at once,
with the file and the key path, as a configuration problem (``hybrid validate`` exits 2).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._config.compose import kind_of
from .._config.load import ROUTING_KEYS
from .._core.util import close_matches
from ..exceptions import ConfigProblem, PluginValidationError

if TYPE_CHECKING:
    from .._config.load import Config
    from .manager import PluginManager, PluginRecord

__all__ = ["SECTIONS", "check_settings", "check_table", "section_tables", "settings_schemas"]

# The tables a plugin may own: [telemetry.NAME] for a sink, [executor.NAME] for an
# executor, [routing.NAME] for a routing strategy.
SECTIONS = ("telemetry", "executor", "routing")
HOOK = "hybrid_settings"


def settings_schemas(manager: PluginManager, record: PluginRecord) -> dict[str, type]:
    """The plugin's ``hybrid_settings()``, checked: key paths onto attrs classes."""
    if not manager.implements(record, HOOK):
        return {}
    found = manager.call(record, HOOK)
    if not isinstance(found, Mapping):
        raise PluginValidationError(
            record.name,
            f"hook {HOOK}() returned {type(found).__name__}; it must return a mapping of "
            'table path onto an attrs class, e.g. {"executor.dask": DaskSettings}',
        )
    problems = [_bad_entry(key, value) for key, value in found.items()]
    wrong = [p for p in problems if p is not None]
    if wrong:
        raise PluginValidationError(record.name, f"hook {HOOK}() returned " + "; ".join(wrong))
    return {str(k): v for k, v in found.items()}


def _bad_entry(key: object, value: object) -> str | None:
    section, _, name = str(key).partition(".")
    if not isinstance(key, str) or section not in SECTIONS or not name or "." in name:
        return f"{key!r}, which is not 'telemetry.NAME', 'executor.NAME' nor 'routing.NAME'"
    if section == "routing" and name in ROUTING_KEYS:
        return f"{key!r}, which is a fixed key of [routing], not a strategy's table"
    if not (isinstance(value, type) and attrs.has(value)):
        return f"{value!r} for {key!r}, which is not an attrs class"
    return None


def check_settings(schemas: Mapping[str, type], config: Config, source: str) -> list[ConfigProblem]:
    """Every problem of the tables ``schemas`` describe, in the configuration ``config``."""
    problems: list[ConfigProblem] = []
    for path, schema in schemas.items():
        section, _, name = path.partition(".")
        tables = section_tables(config, section)
        if name in tables:
            problems += check_table(schema, tables[name], path, source)
    return problems


def section_tables(config: Config, section: str) -> Mapping[str, Any]:
    """The tables of one section, by name: ``[routing.NAME]`` in ``routing``, and so on."""
    if section == "telemetry":
        return config.telemetry
    if section == "executor":
        return config.executor.settings
    return config.routing.strategy_settings


def check_table(schema: type, table: object, path: str, source: str) -> list[ConfigProblem]:
    """The problems of one table against the attrs class ``schema``."""
    if not isinstance(table, Mapping):
        return [ConfigProblem(source, path, f"must be a table of settings, not {kind_of(table)}")]
    fields = [f.name for f in attrs.fields(schema)]
    hints = _hints(schema)
    problems = []
    for key, value in table.items():
        where = f"{path}.{key}"
        if key not in fields:
            why = f"unknown setting{_hint(str(key), fields)}"
            problems.append(ConfigProblem(source, where, why))
        elif key in hints and not _accepts(hints[key], value):
            why = f"must be {_describe(hints[key])}, not {kind_of(value)}"
            problems.append(ConfigProblem(source, where, why))
    if problems:
        return problems
    try:
        schema(**table)
    except (TypeError, ValueError) as exc:
        return [ConfigProblem(source, path, f"{type(exc).__name__}: {exc}")]
    return []


def _hints(schema: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(schema)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is not checked
        return {}


def _hint(name: str, known: Sequence[str]) -> str:
    close = close_matches(name, known)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(known)})" if known else ""


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def _accepts(tp: Any, value: object) -> bool:
    """Whether a TOML value fits the annotation; an annotation it cannot read fits all."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return True
    if _is_union(tp):
        return any(_accepts(arg, value) for arg in _args(tp))
    if origin is typing.Literal:
        return value in _args(tp)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    container = origin if origin is not None else tp
    if isinstance(container, type) and issubclass(container, Mapping):
        inner = _args(tp)[1] if len(_args(tp)) == 2 else Any
        return isinstance(value, Mapping) and all(_accepts(inner, v) for v in value.values())
    if isinstance(container, type) and issubclass(container, (list, tuple, Sequence)):
        inner = _args(tp)[0] if _args(tp) else Any
        return isinstance(value, list) and all(_accepts(inner, v) for v in value)
    return True


def _describe(tp: Any) -> str:
    """The annotation in words: ``a whole number or a string``."""
    if _is_union(tp):
        return " or ".join(_describe(a) for a in _args(tp) if a is not type(None))
    if typing.get_origin(tp) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in _args(tp))
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if tp in names:
        return names[tp]
    container = typing.get_origin(tp) or tp
    if isinstance(container, type) and issubclass(container, Mapping):
        inner = _args(tp)[1] if len(_args(tp)) == 2 else Any
        return "a table" + ("" if inner is Any else f" of {_plain(_describe(inner))}")
    inner = _args(tp)[0] if _args(tp) else Any
    return "a list" + ("" if inner is Any else f" of {_plain(_describe(inner))}")


def _plain(words: str) -> str:
    """``a string`` as ``strings``, for "a list of strings"."""
    plural = {"a string": "strings", "a whole number": "whole numbers", "a number": "numbers",
              "true or false": "booleans"}  # fmt: skip
    return plural.get(words, words)
