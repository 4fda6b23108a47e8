"""The workflow engine: definition, planner, runner (all private; see hybrid_core)."""

from __future__ import annotations

from ._definition import Workflow
from ._kinds import compose_step, map_step, switch_step
from ._outcome import RunResult, RunStatus, StepRecord, StepStatus
from ._planner import Plan, Scheduler
from ._policy import ContinueWith, RetryPolicy, RetryStep
from ._refs import SKIPPED, InputRef, ResultRef, Value, input_ref, result_ref, value
from ._runner import Runner, aresume_workflow, arun_workflow
from ._step import Runtime, Step, StepCall
from ._sync import run_sync

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
