"""hybrid_core: run hybrid workflows across engines and workflows supplied by plugins.

Importing the package loads no plugin, scans no entry point and configures no logging:
its loguru output stays disabled until a host calls ``logger.enable("hybrid_core")``
(the ``hybrid`` CLI does).
"""

from __future__ import annotations

from loguru import logger as _logger

from . import hookspecs
from ._bridge import (
    Consensus,
    WorkflowProvider,
    capability_step,
    engine_step,
    parallel_step,
    workflow_provider,
)
from ._capacity import ExecutionPlan
from ._config import Config, ExecutorConfig, PluginsConfig, find_config, load_config
from ._context import CancelToken, ExecutionContext, SharedState
from ._executor import Call, Executor, LocalExecutor
from ._markers import hookimpl
from ._plugins import PluginRecord
from ._records import Engine, Provider, ProviderKind
from ._registry import Compatibility, Registry
from ._resources import Pool, ResourcePools
from ._router import Decision, Router, RoutingPolicy
from ._routing import (
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
from ._telemetry import Event, InMemorySink, LoguruSink, Sink, TelemetryBus
from ._telemetry_jsonl import JsonlSink
from ._telemetry_names import EVENTS, EVENTS_VERSION, EventSpec
from ._trace import Trace, TraceError, read_trace
from ._trace_spans import Span, SpanBuilder
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
from .exceptions import (
    AllProvidersFailed,
    Cancelled,
    CapabilityNameError,
    ConfigError,
    ConfigProblem,
    ContextError,
    CycleError,
    DeadlineExceeded,
    DefinitionProblem,
    DuplicateProviderError,
    EngineError,
    EngineTimeout,
    Halt,
    HybridCoreError,
    PayloadError,
    PluginError,
    PluginHookError,
    PluginLoadError,
    PluginValidationError,
    RegistryError,
    ResourceError,
    RoutingError,
    StepError,
    StepFailed,
    StepTimeout,
    SystemStateError,
    UndoFailed,
    UnknownCapabilityError,
    UnknownStrategyError,
    WorkflowCancelled,
    WorkflowDefinitionError,
    WorkflowError,
    WorkflowFailed,
    WorkflowHalted,
    WorkflowInputError,
    WorkflowRunError,
)

__version__ = "0.1.0"

__all__ = [
    "AllProvidersFailed",
    "Call",
    "CancelToken",
    "Cancelled",
    "CapabilityNameError",
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
    "Halt",
    "Hybrid",
    "HybridCoreError",
    "InMemorySink",
    "JsonlSink",
    "LeastLoadedStrategy",
    "LocalExecutor",
    "LoguruSink",
    "PayloadError",
    "PerformanceStrategy",
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
    "RunResult",
    "RunStatus",
    "SKIPPED",
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
    "UnknownStrategyError",
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

_logger.disable("hybrid_core")
