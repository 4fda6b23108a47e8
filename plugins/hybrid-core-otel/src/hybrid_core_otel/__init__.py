"""hybrid_core_otel: an OpenTelemetry sink for hybrid_core.

The entry point ``otel`` of the group ``hybrid_core`` names this module. With ``"otel"``
in ``[telemetry] sinks``, :func:`hybrid_telemetry_sinks` gives one :class:`OtelSink`,
configured by ``[telemetry.otel]``; a host can instead build ``OtelSink(...)`` with its
own ``TracerProvider`` and ``MeterProvider`` and pass it to ``Hybrid(sinks=[...])``.
Importing this module does not import OpenTelemetry; building a sink does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import hybrid_core

from ._settings import OtelSettings, read_settings
from ._version import __version__

if TYPE_CHECKING:
    from ._sink import OtelSink

__all__ = [
    "OtelSettings",
    "OtelSink",
    "__version__",
    "hybrid_settings",
    "hybrid_telemetry_sinks",
]


def __getattr__(name: str) -> Any:
    # OtelSink imports OpenTelemetry; load it only when someone asks for it.
    if name == "OtelSink":
        from ._sink import OtelSink

        return OtelSink
    raise AttributeError(f"module 'hybrid_core_otel' has no attribute {name!r}")


@hybrid_core.hookimpl
def hybrid_settings() -> Mapping[str, type]:
    """``[telemetry.otel]``'s keys and types, which hybrid_core checks with the file."""
    return {"telemetry.otel": OtelSettings}


@hybrid_core.hookimpl
def hybrid_telemetry_sinks(settings: Mapping[str, Any]) -> Sequence[hybrid_core.Sink]:
    """The ``otel`` sink, when ``[telemetry] sinks`` names it; its settings are checked."""
    if "otel" not in settings.get("sinks", ()):
        return []
    options = read_settings(settings.get("otel"))
    from ._sink import OtelSink

    return [OtelSink.from_settings(options)]
