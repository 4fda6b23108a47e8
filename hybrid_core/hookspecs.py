"""The hooks a hybrid_core plugin can implement.

A plugin is a module (or object) named by an entry point in the group ``hybrid_core``,
whose functions are marked ``@hybrid_core.hookimpl``. Every hook is synchronous and is
called once per system; the objects it returns may have async methods. Collection hooks
return a list (empty when there is nothing to give); returning anything else, or raising,
marks the plugin as failed without affecting the other plugins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._markers import hookspec

if TYPE_CHECKING:
    from ._core.records import Engine
    from ._execution.executor import Executor
    from ._journal.codec import Codec
    from ._routing.strategies import RoutingStrategy
    from ._system import Hybrid
    from ._telemetry.bus import Sink

__all__ = [
    "hybrid_engines",
    "hybrid_executors",
    "hybrid_journal_codecs",
    "hybrid_routing_strategies",
    "hybrid_settings",
    "hybrid_shutdown",
    "hybrid_startup",
    "hybrid_telemetry_sinks",
    "hybrid_workflows",
]


@hookspec
def hybrid_engines() -> Sequence[Engine]:
    """Return the engines this plugin provides, as a list of :class:`hybrid_core.Engine`."""


@hookspec
def hybrid_workflows() -> Sequence[Any]:
    """Return the workflows this plugin provides; each is registered under its name.

    An item is a ``Workflow``, a ``workflow_provider(...)``, or a TOML file the plugin
    ships (``importlib.resources.files(__package__) / "workflows.toml"``) holding
    ``[workflows.NAME]`` tables as a configuration file does; the file is built once
    every plugin has registered, and any problem in it fails the plugin.
    """


@hookspec
def hybrid_routing_strategies(settings: Mapping[str, Any]) -> Sequence[RoutingStrategy]:
    """Return routing strategies, objects with a ``name`` and an ``order()`` method.

    ``settings`` is the ``[routing]`` table, every fixed key present; a strategy reads its
    options from ``settings[name]`` (``[routing.NAME]``), and raises ``ConfigError`` naming
    each bad key. An implementation may leave ``settings`` out.
    """


@hookspec
def hybrid_telemetry_sinks(settings: Mapping[str, Any]) -> Sequence[Sink]:
    """Return the telemetry sinks to attach, given the ``[telemetry]`` settings."""


@hookspec
def hybrid_executors(settings: Mapping[str, Any]) -> Sequence[Executor]:
    """Return executors, objects with a ``name`` and ``asubmit``/``aclose`` methods.

    ``settings`` is the ``[executor]`` table; an executor reads its options from
    ``settings[name]`` and raises ``ConfigError`` naming each bad key.
    """


@hookspec
def hybrid_settings() -> Mapping[str, type]:
    """Return the settings tables this plugin reads, as ``{"executor.NAME": AttrsClass}``.

    Each key is ``telemetry.NAME``, ``executor.NAME`` or ``routing.NAME`` (a strategy's
    options); each attrs class's fields are the table's keys. The core checks the user's
    table against it before any hook reads it (unknown keys, value types, the class's
    validators) and reports every problem with the file and key path, as for its own keys.
    """


@hookspec
def hybrid_journal_codecs() -> Sequence[Codec]:
    """Return run journal codecs, objects with a ``name`` and ``encode``/``decode`` methods.

    ``[runs] codec = "NAME"`` chooses one; ``decode(encode(value))`` must give back an
    equal value, and ``encode`` raises ``JournalCodecError`` for what it cannot store.
    """


@hookspec
def hybrid_startup(system: Hybrid) -> None:
    """Called once when ``system`` has started, after every provider is registered."""


@hookspec
def hybrid_shutdown(system: Hybrid) -> None:
    """Called once when ``system`` closes, before engines stop and sinks close."""
