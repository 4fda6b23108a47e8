"""Test doubles and contract suites for plugin authors and hosts.

Like ``httpx.MockTransport``, the doubles are the real machinery with the inputs filled
in: :func:`make_plugin` gives a plugin object whose hooks return what you pass, registered
and validated exactly as an installed plugin would be; :func:`make_system` builds a
:class:`~hybrid_core.Hybrid` with no entry-point scan and an :class:`InMemorySink`.

The contract suites, one class per kind of provider, check what the documentation
promises of an engine, a routing strategy, a telemetry sink or an executor; a plugin's
tests subclass them (they need pytest, and are imported only when asked for):
:class:`EngineContract`, :class:`StrategyContract`, :class:`SinkContract`,
:class:`ExecutorContract`. The pytest plugin ``hybrid_core.testing.pytest_plugin``,
registered through the ``pytest11`` entry point, provides their fixtures.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .._markers import hookimpl

if TYPE_CHECKING:
    from .._core.records import Engine
    from .._system import Hybrid
    from .._telemetry.bus import InMemorySink, Sink
    from ._engine import EngineContract
    from ._executor import ExecutorContract
    from ._sink import SinkContract
    from ._strategy import StrategyContract

__all__ = [
    "EngineContract",
    "ExecutorContract",
    "InMemorySink",
    "SinkContract",
    "StrategyContract",
    "make_engine",
    "make_plugin",
    "make_system",
]

# Loaded on first access: the contract suites import pytest, so the test doubles work
# where pytest is not installed, and the pytest plugin (a submodule, imported by every
# pytest run where hybrid_core is installed) does not import the whole core up front.
_LAZY = {
    "EngineContract": "._engine",
    "ExecutorContract": "._executor",
    "InMemorySink": ".._telemetry.bus",
    "SinkContract": "._sink",
    "StrategyContract": "._strategy",
}

_COLLECTION_HOOKS = {
    "engines": "hybrid_engines",
    "workflows": "hybrid_workflows",
    "strategies": "hybrid_routing_strategies",
    "executors": "hybrid_executors",
}


def make_engine(
    handler: Callable[..., Any],
    capability: str | Mapping[str, int],
    *,
    name: str | None = None,
    priority: int = 10,
    **options: Any,
) -> Engine:
    """An Engine serving ``capability`` (a name, or a capability -> priority mapping).

    ``name`` defaults to ``test.<handler name>``; other keywords go to :class:`Engine`.
    """
    from .._core.records import Engine

    caps = {capability: priority} if isinstance(capability, str) else dict(capability)
    engine_name = name or f"test.{getattr(handler, '__name__', 'engine').strip('<>')}"
    return Engine(name=engine_name, capabilities=caps, handler=handler, **options)


def make_plugin(
    name: str = "test-plugin",
    *,
    engines: Sequence[Any] = (),
    workflows: Sequence[Any] = (),
    strategies: Sequence[Any] = (),
    executors: Sequence[Any] = (),
    sinks: Sequence[Any] = (),
    on_startup: Callable[[Hybrid], None] | None = None,
    on_shutdown: Callable[[Hybrid], None] | None = None,
) -> object:
    """A plugin object implementing only the hooks for which something was given.

    The lists are returned as given, not checked here: the system checks them the way it
    checks any plugin, so a test can also pass malformed items on purpose.
    """
    namespace: dict[str, Any] = {"name": name}
    given = {
        "engines": engines,
        "workflows": workflows,
        "strategies": strategies,
        "executors": executors,
    }
    for key, hook in _COLLECTION_HOOKS.items():
        if given[key]:
            namespace[hook] = hookimpl(_returning(hook, list(given[key])))
    if sinks:
        sink_list = list(sinks)

        def hybrid_telemetry_sinks(settings: Mapping[str, Any]) -> list[Any]:
            return sink_list

        namespace["hybrid_telemetry_sinks"] = hookimpl(hybrid_telemetry_sinks)
    if on_startup is not None:
        namespace["hybrid_startup"] = hookimpl(_lifecycle("hybrid_startup", on_startup))
    if on_shutdown is not None:
        namespace["hybrid_shutdown"] = hookimpl(_lifecycle("hybrid_shutdown", on_shutdown))
    return SimpleNamespace(**namespace)


def _returning(hook: str, items: list[Any]) -> Callable[[], list[Any]]:
    def implementation() -> list[Any]:
        return items

    implementation.__name__ = hook
    return implementation


def _lifecycle(hook: str, fn: Callable[[Hybrid], None]) -> Callable[[Hybrid], None]:
    def implementation(system: Hybrid) -> None:
        fn(system)

    implementation.__name__ = hook
    return implementation


def make_system(
    *plugins: object,
    config: Any = None,
    sinks: Sequence[Sink] | None = None,
    **options: Any,
) -> tuple[Hybrid, InMemorySink]:
    """A not-yet-started system with ``plugins``, no entry-point scan, and a memory sink.

    Returns ``(system, sink)``; start it with ``async with system`` or ``with system``.
    """
    from .._system import Hybrid
    from .._telemetry.bus import InMemorySink

    sink = InMemorySink()
    system = Hybrid(
        config,
        plugins=plugins,
        entry_points=options.pop("entry_points", False),
        sinks=[sink, *(sinks or ())],
        **options,
    )
    return system, sink


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hybrid_core.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
