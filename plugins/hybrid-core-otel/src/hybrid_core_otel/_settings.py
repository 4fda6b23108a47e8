"""``[telemetry.otel]``: reading and checking the sink's settings.

Every problem is reported at once, as a :class:`hybrid_core.ConfigError` whose problems
name the key (``telemetry.otel.exporter: must be one of ...``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from hybrid_core import ConfigError, ConfigProblem

__all__ = ["EXPORTERS", "OtelSettings", "read_settings"]

EXPORTERS = ("global", "console", "none")


@attrs.frozen
class OtelSettings:
    """The checked settings.

    ``exporter``: ``global`` sends spans and metrics to the providers set globally with
    ``opentelemetry.trace.set_tracer_provider`` (what ``opentelemetry-instrument`` does);
    ``console`` builds providers that print to stderr; ``none`` builds providers that
    export nothing (spans are still made, for testing a setup). ``service_name`` names
    the service of providers the sink builds. ``metrics = false`` records no metrics.
    """

    service_name: str = "hybrid-core"
    exporter: Literal["global", "console", "none"] = "global"
    metrics: bool = True


# The keys are the fields: hybrid_settings() gives the class to hybrid_core, which checks
# a user's table against it with the rest of the file; read_settings() checks the values.
_KEYS = tuple(f.name for f in attrs.fields(OtelSettings))


def _hint(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


def _problems(table: Mapping[str, Any]) -> list[ConfigProblem]:
    found = [
        ConfigProblem("", f"telemetry.otel.{key}", f"unknown setting{_hint(str(key), _KEYS)}")
        for key in table
        if key not in _KEYS
    ]
    name = table.get("service_name", "hybrid-core")
    if not isinstance(name, str) or not name.strip():
        found.append(
            ConfigProblem(
                "", "telemetry.otel.service_name", f"must be a non-empty string, not {name!r}"
            )
        )
    exporter = table.get("exporter", "global")
    if exporter not in EXPORTERS:
        found.append(
            ConfigProblem(
                "",
                "telemetry.otel.exporter",
                f"must be one of {', '.join(EXPORTERS)}, not {exporter!r}"
                f"{_hint(str(exporter), EXPORTERS)}",
            )
        )
    if not isinstance(table.get("metrics", True), bool):
        found.append(
            ConfigProblem(
                "", "telemetry.otel.metrics", f"must be true or false, not {table['metrics']!r}"
            )
        )
    return found


def read_settings(table: object) -> OtelSettings:
    """Check ``[telemetry.otel]`` (a mapping, or None when absent) and return its settings.

    Raises ConfigError listing every problem.
    """
    if table is None:
        return OtelSettings()
    if not isinstance(table, Mapping):
        raise ConfigError([ConfigProblem("", "telemetry.otel", "must be a table of settings")])
    problems = _problems(table)
    if problems:
        raise ConfigError(problems)
    return OtelSettings(
        service_name=table.get("service_name", "hybrid-core"),
        exporter=table.get("exporter", "global"),
        metrics=table.get("metrics", True),
    )
