"""The built-in sinks as configured in ``[telemetry]``: checking settings, building sinks.

``[telemetry] sinks = ["jsonl"]`` asks for a sink by name; ``[telemetry.jsonl]`` holds
its settings. Settings of the built-in sinks are checked with the rest of the
configuration, so a mistake is a configuration error naming the key
(``telemetry.jsonl.max_bytes: must be ...``); settings of other sinks belong to the
plugins that provide them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._core.log import logger
from .._core.util import close_matches
from .bus import InMemorySink, LoguruSink, Sink

__all__ = ["BUILTIN_SINKS", "build_sinks", "check_settings"]

BUILTIN_SINKS = ("jsonl", "loguru", "memory")
_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
_KEYS: Mapping[str, tuple[str, ...]] = {
    "jsonl": ("path", "max_bytes", "backups"),
    "loguru": ("level",),
    "memory": (),
}
_COUNTS = {"max_bytes": "bytes per file; 0 never rotates", "backups": "rotated files kept"}
Problem = Callable[[str, str], None]


def _what(value: object) -> str:
    if isinstance(value, (str, bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def _hint(word: str, known: tuple[str, ...]) -> str:
    close = close_matches(word, known)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(known)})" if known else " (this sink takes no settings)"


def _names(value: object) -> tuple[str, ...]:
    # A malformed list is reported by the config checker; here it just means "none".
    if isinstance(value, (list, tuple)):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def check_settings(telemetry: Mapping[str, Any], problem: Problem) -> None:
    """Report every problem in ``[telemetry]`` other than its ``sinks`` list.

    Keys other than ``sinks`` must be tables (one per sink); the tables of the built-in
    sinks are checked key by key. ``problem(key path, message)`` is called per problem.
    """
    wanted = _names(telemetry.get("sinks"))
    for key, value in telemetry.items():
        if key == "sinks":
            continue
        if not isinstance(value, Mapping):
            hint = _hint(str(key), ("sinks",))
            problem(
                f"telemetry.{key}",
                f"unknown key{hint}; sink settings go in a table such as [telemetry.jsonl]",
            )
        elif key in _KEYS:
            _check_sink(str(key), value, problem)
    if "jsonl" in wanted and not isinstance(telemetry.get("jsonl"), Mapping):
        problem("telemetry.jsonl.path", "is required when 'jsonl' is in telemetry.sinks")


def _check_sink(name: str, table: Mapping[str, Any], problem: Problem) -> None:
    known = _KEYS[name]
    for key in table:
        if key not in known:
            problem(f"telemetry.{name}.{key}", f"unknown setting{_hint(str(key), known)}")
    if name == "jsonl":
        _check_jsonl(table, problem)
    elif name == "loguru" and "level" in table:
        _check_level(table["level"], problem)


def _check_jsonl(table: Mapping[str, Any], problem: Problem) -> None:
    path = table.get("path")
    if path is None:
        problem("telemetry.jsonl.path", "is required: the file to write, e.g. 'run.jsonl'")
    elif not isinstance(path, str) or not path.strip():
        problem("telemetry.jsonl.path", f"must be a file path string, not {_what(path)}")
    for key, meaning in _COUNTS.items():
        value = table.get(key)
        if value is not None and not _whole(value):
            problem(
                f"telemetry.jsonl.{key}",
                f"must be a whole number >= 0 ({meaning}), not {_what(value)}",
            )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_level(level: object, problem: Problem) -> None:
    if isinstance(level, str) and level.upper() in _LEVELS:
        return
    if isinstance(level, int) and not isinstance(level, bool) and level >= 0:
        return
    problem(
        "telemetry.loguru.level",
        f"must be a level name ({', '.join(_LEVELS)}) or a number >= 0, not {_what(level)}",
    )


def build_sinks(telemetry: Mapping[str, Any]) -> list[Sink]:
    """The built-in sinks named in ``telemetry["sinks"]``, in that order.

    Never raises: it runs in the built-in plugin's hook, whose failure would take the
    local executor down with it. Settings are normally checked with the configuration;
    a sink whose settings are wrong anyway (a hand-built Config) is left out, logged.
    """
    problems: list[str] = []
    check_settings(telemetry, lambda key, message: problems.append(f"{key}: {message}"))
    sinks: list[Sink] = []
    for name in dict.fromkeys(_names(telemetry.get("sinks"))):
        if name not in BUILTIN_SINKS:
            continue
        mine = [p for p in problems if p.startswith(f"telemetry.{name}.")]
        if mine:
            logger.warning("telemetry sink {!r} left out: {}", name, "; ".join(mine))
            continue
        table = telemetry.get(name)
        sinks.append(_build(name, table if isinstance(table, Mapping) else {}))
    return sinks


def _build(name: str, options: Mapping[str, Any]) -> Sink:
    if name == "jsonl":
        from .jsonl import JsonlSink

        return JsonlSink(
            options["path"],
            max_bytes=options.get("max_bytes", 0),
            backups=options.get("backups", 5),
        )
    if name == "loguru":
        level = options.get("level", "INFO")
        return LoguruSink(level=level.upper() if isinstance(level, str) else level)
    return InMemorySink()
