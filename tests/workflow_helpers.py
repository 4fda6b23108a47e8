"""Shared imports and helpers of the workflow tests.

Every workflow test imports the engine's names from here, so that switching the tests to
the public ``hybrid_core`` names is a change in this one file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from hybrid_core._cli.visual import to_dot, to_mermaid
from hybrid_core._core.context import CancelToken, ExecutionContext
from hybrid_core._execution.executor import Call, LocalExecutor
from hybrid_core._telemetry.bus import Event, InMemorySink, TelemetryBus
from hybrid_core._workflow import (
    SKIPPED,
    ContinueWith,
    Plan,
    RetryPolicy,
    RetryStep,
    Runner,
    RunResult,
    RunStatus,
    Scheduler,
    Step,
    StepCall,
    StepRecord,
    StepStatus,
    Workflow,
    aresume_workflow,
    arun_workflow,
    compose_step,
    input,
    map_step,
    result,
    run_sync,
    switch_step,
    value,
)
from hybrid_core.exceptions import (
    Cancelled,
    CycleError,
    DeadlineExceeded,
    Halt,
    HybridCoreError,
    StepFailed,
    StepTimeout,
    UndoFailed,
    WorkflowCancelled,
    WorkflowDefinitionError,
    WorkflowError,
    WorkflowFailed,
    WorkflowHalted,
    WorkflowInputError,
)

__all__ = [
    "SKIPPED",
    "Call",
    "CancelToken",
    "Cancelled",
    "ContinueWith",
    "CycleError",
    "DeadlineExceeded",
    "EXECUTOR",
    "Event",
    "ExecutionContext",
    "Halt",
    "HybridCoreError",
    "InMemorySink",
    "LocalExecutor",
    "Plan",
    "RecordingExecutor",
    "RetryPolicy",
    "RetryStep",
    "RunResult",
    "RunStatus",
    "Runner",
    "Scheduler",
    "Step",
    "StepCall",
    "StepFailed",
    "StepRecord",
    "StepStatus",
    "StepTimeout",
    "TelemetryBus",
    "UndoFailed",
    "Workflow",
    "WorkflowCancelled",
    "WorkflowDefinitionError",
    "WorkflowError",
    "WorkflowFailed",
    "WorkflowHalted",
    "WorkflowInputError",
    "arun",
    "arun_workflow",
    "bus",
    "compose_step",
    "input",
    "map_step",
    "in_loop",
    "result",
    "resume",
    "run",
    "run_sync",
    "switch_step",
    "to_dot",
    "to_mermaid",
    "value",
]

T = TypeVar("T")

# One executor for the whole test session: its pools start on first use.
EXECUTOR = LocalExecutor(name="tests", max_threads=8)


class RecordingExecutor:
    """An executor that runs calls in threads and keeps every Call it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.threads: list[str] = []
        self._lock = threading.Lock()

    async def asubmit(self, call: Call) -> Any:
        with self._lock:
            self.calls.append(call)

        def target() -> Any:
            with self._lock:
                self.threads.append(threading.current_thread().name)
            return call()

        return await asyncio.get_running_loop().run_in_executor(None, target)

    async def aclose(self) -> None:
        return None


def bus() -> tuple[TelemetryBus, InMemorySink]:
    """A telemetry bus with an in-memory sink attached."""
    telemetry = TelemetryBus()
    sink = InMemorySink()
    telemetry.attach(sink)
    return telemetry, sink


async def arun(
    workflow: Workflow, inputs: Mapping[str, Any] | None = None, **options: Any
) -> RunResult:
    """arun_workflow with the test executor unless another is given."""
    options.setdefault("executor", EXECUTOR)
    return await arun_workflow(workflow, inputs, **options)


def run(workflow: Workflow, inputs: Mapping[str, Any] | None = None, **options: Any) -> RunResult:
    """Run a workflow to completion in a fresh event loop."""
    return asyncio.run(arun(workflow, inputs, **options))


def resume(previous: RunResult, **options: Any) -> RunResult:
    """Resume a run to completion in a fresh event loop."""
    options.setdefault("executor", EXECUTOR)
    return asyncio.run(aresume_workflow(previous, **options))


def in_loop(factory: Callable[[], Awaitable[T]]) -> T:
    """Run an async scenario to completion in a fresh event loop."""

    async def main() -> T:
        return await factory()

    return asyncio.run(main())
