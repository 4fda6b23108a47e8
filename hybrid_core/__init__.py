"""hybrid_core: run hybrid workflows across engines and workflows supplied by plugins.

Importing the package loads no plugin, scans no entry point and configures no logging:
its loguru output stays disabled until a host calls ``logger.enable("hybrid_core")``
(the ``hybrid`` CLI does).
"""

from __future__ import annotations

from loguru import logger as _logger

from . import hookspecs
from ._config import Config, ExecutorConfig, PluginsConfig, find_config, load_config
from ._context import CancelToken, ExecutionContext, SharedState
from ._executor import Call, Executor, LocalExecutor
from ._markers import hookimpl
from ._plugins import PluginRecord
from ._records import Engine, Provider, ProviderKind
from ._registry import Compatibility, Registry
from ._routing import PriorityStrategy, RouteRequest, RoutingStrategy
from ._system import Hybrid
from ._telemetry import Event, InMemorySink, LoguruSink, Sink, TelemetryBus
from .exceptions import (
    Cancelled,
    CapabilityNameError,
    ConfigError,
    ContextError,
    DeadlineExceeded,
    DuplicateProviderError,
    HybridCoreError,
    PluginError,
    PluginHookError,
    PluginLoadError,
    PluginValidationError,
    RegistryError,
    SystemStateError,
    UnknownCapabilityError,
)

__version__ = "0.1.0"

__all__ = [
    "Call",
    "CancelToken",
    "Cancelled",
    "CapabilityNameError",
    "Compatibility",
    "Config",
    "ConfigError",
    "ContextError",
    "DeadlineExceeded",
    "DuplicateProviderError",
    "Engine",
    "Event",
    "ExecutionContext",
    "Executor",
    "ExecutorConfig",
    "Hybrid",
    "HybridCoreError",
    "InMemorySink",
    "LocalExecutor",
    "LoguruSink",
    "PluginError",
    "PluginHookError",
    "PluginLoadError",
    "PluginRecord",
    "PluginValidationError",
    "PluginsConfig",
    "PriorityStrategy",
    "Provider",
    "ProviderKind",
    "Registry",
    "RegistryError",
    "RouteRequest",
    "RoutingStrategy",
    "SharedState",
    "Sink",
    "SystemStateError",
    "TelemetryBus",
    "UnknownCapabilityError",
    "__version__",
    "find_config",
    "hookimpl",
    "hookspecs",
    "load_config",
]

_logger.disable("hybrid_core")
