"""hybrid_core: run hybrid workflows across engines and workflows supplied by plugins.

Importing the package is cheap and has no side effect: it scans no entry point, loads no
plugin, starts no thread and configures no logging. Public names load their module on
first use (a plugin that needs only ``hookimpl`` and ``Engine`` loads only those); the
library's loguru output stays disabled until a host calls ``logger.enable("hybrid_core")``
(the ``hybrid`` CLI does with ``-v``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import hookspecs
from ._markers import VERSION as __version__
from ._markers import hookimpl
from .exceptions import (
    AllProvidersFailed,
    Cancelled,
    CapabilityNameError,
    ConfigError,
    ConfigProblem,
    ContextError,
    CycleError,
    DeadlineExceeded,
    DefinitionChangedError,
    DefinitionProblem,
    DuplicateProviderError,
    EngineError,
    EngineTimeout,
    ExecutorError,
    Halt,
    HybridCoreError,
    JournalCodecError,
    JournalError,
    PayloadError,
    PluginError,
    PluginHookError,
    PluginLoadError,
    PluginValidationError,
    RegistryError,
    ResourceError,
    RoutingError,
    RunOwnedError,
    StepError,
    StepFailed,
    StepTimeout,
    SystemStateError,
    UndoFailed,
    UnknownCapabilityError,
    UnknownRunError,
    UnknownStrategyError,
    WorkerLost,
    WorkflowCancelled,
    WorkflowDefinitionError,
    WorkflowError,
    WorkflowFailed,
    WorkflowHalted,
    WorkflowInputError,
    WorkflowRunError,
)

if TYPE_CHECKING:
    from ._bridge.capacity import ExecutionPlan
    from ._bridge.steps import (
        Consensus,
        WorkflowProvider,
        capability_step,
        engine_step,
        parallel_step,
        workflow_provider,
    )
    from ._config.load import (
        Config,
        ExecutorConfig,
        PluginsConfig,
        RunsConfig,
        find_config,
        load_config,
    )
    from ._core.context import CancelToken, ExecutionContext, SharedState
    from ._core.records import Engine, Provider, ProviderKind
    from ._core.registry import Compatibility, Registry
    from ._core.resources import Pool, ResourcePools
    from ._execution.executor import Call, Executor, LocalExecutor
    from ._journal import Codec, Journal, JsonCodec, PickleCodec
    from ._plugins.manager import PluginRecord
    from ._routing.decision import Decision
    from ._routing.policy import RoutingPolicy
    from ._routing.router import Router, Served
    from ._routing.strategies import (
        LeastLoadedStrategy,
        PerformanceStrategy,
        PriorityStrategy,
        ProviderStats,
        ResourceAwareStrategy,
        RoundRobinStrategy,
        RouteRequest,
        RoutingStrategy,
    )
    from ._system import Hybrid
    from ._telemetry.bus import Event, InMemorySink, LoguruSink, Sink, TelemetryBus
    from ._telemetry.jsonl import JsonlSink
    from ._telemetry.names import EVENTS, EVENTS_VERSION, EventSpec
    from ._trace.reader import Trace, TraceError, read_trace
    from ._trace.spans import Span, SpanBuilder
    from ._workflow import (
        SKIPPED,
        ContinueWith,
        RetryPolicy,
        RetryStep,
        RunResult,
        RunStatus,
        Step,
        StepCall,
        StepRecord,
        StepStatus,
        Workflow,
        input,
        result,
        value,
    )

# Public name -> the private module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "Call": "_execution.executor",
    "Codec": "_journal",
    "Journal": "_journal",
    "JsonCodec": "_journal",
    "PickleCodec": "_journal",
    "RunsConfig": "_config.load",
    "CancelToken": "_core.context",
    "Compatibility": "_core.registry",
    "Config": "_config.load",
    "Consensus": "_bridge.steps",
    "ContinueWith": "_workflow",
    "Decision": "_routing.decision",
    "EVENTS": "_telemetry.names",
    "EVENTS_VERSION": "_telemetry.names",
    "Engine": "_core.records",
    "Event": "_telemetry.bus",
    "EventSpec": "_telemetry.names",
    "ExecutionContext": "_core.context",
    "ExecutionPlan": "_bridge.capacity",
    "Executor": "_execution.executor",
    "ExecutorConfig": "_config.load",
    "Hybrid": "_system",
    "InMemorySink": "_telemetry.bus",
    "JsonlSink": "_telemetry.jsonl",
    "LeastLoadedStrategy": "_routing.strategies",
    "LocalExecutor": "_execution.executor",
    "LoguruSink": "_telemetry.bus",
    "PerformanceStrategy": "_routing.strategies",
    "PluginRecord": "_plugins.manager",
    "PluginsConfig": "_config.load",
    "Pool": "_core.resources",
    "PriorityStrategy": "_routing.strategies",
    "Provider": "_core.records",
    "ProviderKind": "_core.records",
    "ProviderStats": "_routing.strategies",
    "Registry": "_core.registry",
    "ResourceAwareStrategy": "_routing.strategies",
    "ResourcePools": "_core.resources",
    "RetryPolicy": "_workflow",
    "RetryStep": "_workflow",
    "RoundRobinStrategy": "_routing.strategies",
    "RouteRequest": "_routing.strategies",
    "Router": "_routing.router",
    "RoutingPolicy": "_routing.policy",
    "RoutingStrategy": "_routing.strategies",
    "RunResult": "_workflow",
    "Served": "_routing.router",
    "RunStatus": "_workflow",
    "SKIPPED": "_workflow",
    "SharedState": "_core.context",
    "Sink": "_telemetry.bus",
    "Span": "_trace.spans",
    "SpanBuilder": "_trace.spans",
    "Step": "_workflow",
    "StepCall": "_workflow",
    "StepRecord": "_workflow",
    "StepStatus": "_workflow",
    "TelemetryBus": "_telemetry.bus",
    "Trace": "_trace.reader",
    "TraceError": "_trace.reader",
    "Workflow": "_workflow",
    "WorkflowProvider": "_bridge.steps",
    "capability_step": "_bridge.steps",
    "engine_step": "_bridge.steps",
    "find_config": "_config.load",
    "input": "_workflow",
    "load_config": "_config.load",
    "parallel_step": "_bridge.steps",
    "read_trace": "_trace.reader",
    "result": "_workflow",
    "value": "_workflow",
    "workflow_provider": "_bridge.steps",
}

__all__ = [
    "AllProvidersFailed",
    "Call",
    "CancelToken",
    "Cancelled",
    "CapabilityNameError",
    "Codec",
    "Compatibility",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Consensus",
    "ContextError",
    "ContinueWith",
    "CycleError",
    "DeadlineExceeded",
    "Decision",
    "DefinitionChangedError",
    "DefinitionProblem",
    "DuplicateProviderError",
    "EVENTS",
    "EVENTS_VERSION",
    "Engine",
    "EngineError",
    "EngineTimeout",
    "Event",
    "EventSpec",
    "ExecutionContext",
    "ExecutionPlan",
    "Executor",
    "ExecutorConfig",
    "ExecutorError",
    "Halt",
    "Hybrid",
    "HybridCoreError",
    "InMemorySink",
    "Journal",
    "JournalCodecError",
    "JournalError",
    "JsonCodec",
    "JsonlSink",
    "LeastLoadedStrategy",
    "LocalExecutor",
    "LoguruSink",
    "PayloadError",
    "PerformanceStrategy",
    "PickleCodec",
    "PluginError",
    "PluginHookError",
    "PluginLoadError",
    "PluginRecord",
    "PluginValidationError",
    "PluginsConfig",
    "Pool",
    "PriorityStrategy",
    "Provider",
    "ProviderKind",
    "ProviderStats",
    "Registry",
    "RegistryError",
    "ResourceAwareStrategy",
    "ResourceError",
    "ResourcePools",
    "RetryPolicy",
    "RetryStep",
    "RoundRobinStrategy",
    "RouteRequest",
    "Router",
    "RoutingError",
    "RoutingPolicy",
    "RoutingStrategy",
    "RunOwnedError",
    "RunResult",
    "RunStatus",
    "RunsConfig",
    "SKIPPED",
    "Served",
    "SharedState",
    "Sink",
    "Span",
    "SpanBuilder",
    "Step",
    "StepCall",
    "StepError",
    "StepFailed",
    "StepRecord",
    "StepStatus",
    "StepTimeout",
    "SystemStateError",
    "TelemetryBus",
    "Trace",
    "TraceError",
    "UndoFailed",
    "UnknownCapabilityError",
    "UnknownRunError",
    "UnknownStrategyError",
    "WorkerLost",
    "Workflow",
    "WorkflowCancelled",
    "WorkflowDefinitionError",
    "WorkflowError",
    "WorkflowFailed",
    "WorkflowHalted",
    "WorkflowInputError",
    "WorkflowProvider",
    "WorkflowRunError",
    "__version__",
    "capability_step",
    "engine_step",
    "find_config",
    "hookimpl",
    "hookspecs",
    "input",
    "load_config",
    "parallel_step",
    "read_trace",
    "result",
    "value",
    "workflow_provider",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hybrid_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
