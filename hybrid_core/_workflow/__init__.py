"""The workflow engine: definition, planner, runner (all private; see hybrid_core).

May import ``_telemetry`` and the layers below it, not its peers ``_routing``, ``_trace``.
Unlike the other subpackages, it re-exports here the names the layers above use most.
"""

from __future__ import annotations

from .definition import Workflow
from .kinds import compose_step, map_step, switch_step
from .outcome import RunResult, RunStatus, StepRecord, StepStatus
from .planner import Plan, Scheduler
from .policy import ContinueWith, RetryPolicy, RetryStep
from .refs import SKIPPED, InputRef, ResultRef, Value, input_ref, result_ref, value
from .runner import Runner, aresume_workflow, arun_workflow
from .step import Runtime, Step, StepCall
from .sync import run_sync

# The public spellings: ``hc.input("x")``, ``hc.result("step", "key")``.
input = input_ref  # shadows the builtin on purpose, inside this namespace only
result = result_ref

__all__ = [
    "SKIPPED",
    "ContinueWith",
    "InputRef",
    "Plan",
    "ResultRef",
    "RetryPolicy",
    "RetryStep",
    "RunResult",
    "RunStatus",
    "Runner",
    "Runtime",
    "Scheduler",
    "Step",
    "StepCall",
    "StepRecord",
    "StepStatus",
    "Value",
    "Workflow",
    "aresume_workflow",
    "arun_workflow",
    "compose_step",
    "input",
    "map_step",
    "result",
    "run_sync",
    "switch_step",
    "value",
]
