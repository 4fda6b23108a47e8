"""Settling step records, and rolling a run back (undo, newest first).

:func:`settle` is the one place every change of a step's final status passes through
(completion, failure, skip, halt, cancellation, undo): the run's ``on_step`` observer
(a journal) and the telemetry bus hear about each there, and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import UndoFailed, describe_error
from .kinds import restored_children
from .outcome import RunResult, StepRecord, StepStatus
from .signature import Signature, call_hook
from .step import Runtime, Step

if TYPE_CHECKING:
    from .._core.context import ExecutionContext
    from .._telemetry.bus import TelemetryBus

__all__ = ["OnStep", "arollback", "hook_offer", "settle"]

OnStep = Callable[["ExecutionContext", StepRecord], None]


def settle(
    context: ExecutionContext,
    record: StepRecord,
    telemetry: TelemetryBus,
    on_step: OnStep | None,
    event: str = "step.stop",
    duration: float | None = None,
) -> None:
    """Publish a step's final status: to ``on_step`` first, then as telemetry ``event``.

    ``duration`` overrides the record's (an undo reports how long the undo took).
    """
    if on_step is not None:
        on_step(context, record)
    if telemetry.enabled:
        error = record.error if not record.status.done else None
        if record.undo_error is not None:
            error = record.undo_error
        telemetry.emit(
            event,
            context,
            step=record.name,
            provider=record.provider,
            duration=record.duration if duration is None else duration,
            kind=record.kind,
            status=record.status.value,
            attempts=record.attempts,
            error=describe_error(error) if error is not None else None,
        )


def hook_offer(
    sig: Signature,
    context: ExecutionContext,
    step: Step,
    arguments: Any,
    path: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """The keywords a compensate or undo hook may ask for; a context only when it does.

    The context carries the step's structural ``path`` (its idempotency key's tail).
    """
    offered = {"arguments": arguments, "step": step.name, **extra}
    if sig.declares("context"):
        offered["context"] = context.child(name=step.name, path=path or step.name)
    return offered


async def _undo_one(
    step: Step,
    record: StepRecord,
    arguments: Any,
    runtime: Runtime,
    context: ExecutionContext,
    workflow: str,
    workflow_path: str = "",
) -> UndoFailed | None:
    """Undo one step: its nested runs first (newest first), then its own ``undo``."""
    nested: list[UndoFailed] = []
    children: tuple[RunResult | None, ...] = record.children
    if not children and step.nested and record.start is None:
        # Taken from the journal by a resume: its nested runs are rebuilt from there.
        path = f"{workflow_path}{step.name}"
        children = tuple(await restored_children(step, arguments, runtime, context, path))
    for child in reversed(children):
        if child is not None:
            nested += await arollback(child, runtime, context, None)
    try:
        if step.undo is not None and step.undo_signature is not None:
            path = f"{workflow_path}{step.name}"
            offered = hook_offer(step.undo_signature, context, step, arguments, path)
            executor = runtime.executor if step.blocking else None
            await call_hook(
                step.undo, step.undo_signature, record.result, offered, executor=executor
            )
    except Exception as exc:  # noqa: BLE001 - collected; the other undos still run
        return UndoFailed(step.name, exc, workflow=workflow, nested=nested)
    if nested:
        return UndoFailed(step.name, nested[0], workflow=workflow, nested=nested)
    return None


async def arollback(
    result: RunResult, runtime: Runtime, context: ExecutionContext, on_step: OnStep | None
) -> list[UndoFailed]:
    """Undo every completed undoable step of ``result``, newest first; collect the errors.

    Steps are undone one at a time, in the reverse of the order they completed in. An undo
    that raises does not stop the others; its error is recorded on the step
    (``undo_error``, status UNDO_FAILED) and returned, and ``result.undo_errors`` grows.
    """
    plan = result.plan
    records = result._records
    errors: list[UndoFailed] = []
    for i in reversed(result._completed):
        step, record = plan.steps[i], records[i]
        if not step.undoable or record.status is not StepStatus.SUCCEEDED:
            continue
        started = time.monotonic()
        arguments = result._undo_args.get(i)
        error = await _undo_one(
            step, record, arguments, runtime, context, result.name, result._path
        )
        if error is None:
            record.status = StepStatus.UNDONE
        else:
            record.status = StepStatus.UNDO_FAILED
            record.undo_error = error
            errors.append(error)
        took = time.monotonic() - started
        jr = getattr(runtime, "journal", None)
        if jr is not None:
            try:
                jr.undo(result._path + record.name, record, took)
            except Exception as exc:  # noqa: BLE001 - the other undos still run; reported
                jr.failed = jr.failed or exc
        settle(context, record, runtime.telemetry, on_step, "step.undo", took)
    result.undo_errors.extend(errors)
    return errors
