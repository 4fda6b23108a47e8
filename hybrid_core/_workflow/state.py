"""One run's state and bookkeeping: records, readiness, workers, stopping, the final result.

The runner (:mod:`.runner`) adds the per-step hot loop on top. Every final status of a
step passes through :meth:`RunState.settle_record`, the run's one reporting point.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._core.context import ExecutionContext
from ..exceptions import Cancelled, DeadlineExceeded, Halt, StepFailed, WorkflowError
from ..exceptions import describe_error as describe
from .outcome import Frame, RunResult, RunStatus, StepRecord, StepStatus
from .refs import SKIPPED, resolve
from .rollback import arollback, settle
from .validation import check_inputs

if TYPE_CHECKING:
    from .definition import Workflow
    from .durable import Durable
    from .runner import Runner
    from .step import Step

__all__ = ["RunState"]

# Workers started per turn of the event loop: enough for steps that suspend to start
# together, few enough that steps that do not are run by the workers already there.
_BATCH = 64


class RunState:
    """Everything one run of one workflow tracks; subclassed by the runner."""

    __slots__ = (
        "active",
        "args",
        "completed",
        "ctx",
        "done",
        "error",
        "frame",
        "halt_reason",
        "inputs",
        "jpaths",
        "jr",
        "jseq",
        "limit",
        "loop",
        "name",
        "on_step",
        "plan",
        "prefix",
        "previous",
        "ready",
        "records",
        "runtime",
        "sched",
        "status",
        "steps",
        "stop_error",
        "stopping",
        "t0",
        "tasks",
        "telemetry",
        "timers",
        "trickling",
        "undo_args",
        "unregister",
        "values",
        "workflow",
    )

    loop: asyncio.AbstractEventLoop  # set when the run starts

    def __init__(
        self,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        context: ExecutionContext,
        runtime: Runner,
        resume: RunResult | None,
        prefix: str = "",
    ) -> None:
        plan = self.plan = workflow.plan()
        if workflow.defaults:
            inputs = {**workflow.defaults, **inputs}
        check_inputs(workflow, inputs)
        self.workflow = workflow
        self.name = workflow.name
        self.inputs = inputs
        self.ctx = context
        self.runtime = runtime
        self.telemetry = runtime.telemetry
        self.on_step = runtime.on_step
        self.steps: tuple[Step, ...] = plan.steps
        self.args = plan.args
        self.values: list[Any] = [None] * len(plan)
        self.records: list[StepRecord | None] = [None] * len(plan)
        self.frame = Frame(plan.steps, live=True)
        self.completed: list[int] = []
        self.undo_args: dict[int, Mapping[str, Any]] = {}
        self.previous: list[StepRecord | None] | None = None
        self.prefix = prefix
        self.jr = jr = runtime.journal
        self.jseq: list[int] = [0] * len(plan) if jr is not None else []
        # Each step's structural path, what its journal rows are keyed by.
        self.jpaths = [prefix + s.name for s in plan.steps] if jr is not None else []
        done: Sequence[int] = ()
        if resume is not None:
            done = self._adopt(resume)
        elif jr is not None and jr.resuming:
            done = self._restore(jr)
        self.sched = plan.scheduler(done)
        self.limit = runtime.max_concurrency or sys.maxsize
        self.ready: deque[int] = deque()
        self.tasks: dict[int, asyncio.Task[None]] = {}  # by the step each was spawned for
        self.trickling = False
        self.active = 0
        self.done: asyncio.Future[None] | None = None
        self.status: RunStatus | None = None
        self.error: BaseException | None = None
        self.stop_error: BaseException | None = None
        self.halt_reason: str | None = None
        self.stopping = False
        self.timers: list[asyncio.TimerHandle] = []
        self.unregister: Any = None
        self.t0 = 0.0

    def _adopt(self, resume: RunResult) -> list[int]:
        """Take over what ``resume`` completed; keep the rest's records for nested resumes."""
        if resume.name != self.name:
            raise ValueError(
                f"cannot resume a run of workflow {resume.name!r} as workflow {self.name!r}"
            )
        index = self.plan.index
        self.previous = [None] * len(self.plan)
        done = []
        for old in resume._records:
            i = index.get(old.name)
            if i is None:
                continue
            if old.status.done:
                self.records[i] = old.copy(self.frame, i)
                self.values[i] = old.result
                done.append(i)
            else:
                self.previous[i] = old
        old_names = resume.plan.names
        for j in resume._completed:
            i = index.get(old_names[j], -1)
            if i >= 0 and self.records[i] is not None:
                self.completed.append(i)
                if j in resume._undo_args:
                    self.undo_args[i] = resume._undo_args[j]
        return done

    def _restore(self, jr: Durable) -> list[int]:
        """Take over what the journal says completed (a resume from the journal).

        Only the results something will read are decoded: those of the steps the return
        reads, of the dependencies of steps still to run, and of undoable steps and what
        they read (a rollback passes them on); the others when first asked for.
        """
        from .durable import JournaledRecord

        found = []
        prefix, steps, records = self.prefix, self.steps, self.records
        rows = jr.rows_under(prefix)
        for i, step in enumerate(steps):
            row = rows.get(prefix + step.name)
            if row is not None:
                records[i] = JournaledRecord(self.frame, i, row, jr.decode)
                found.append((row[0], i))
        found.sort()
        done = [i for _, i in found]
        self.completed.extend(done)
        plan, values = self.plan, self.values
        needed = set(plan.return_steps)
        for i, rec in enumerate(records):
            if rec is None:
                needed.update(plan.deps[i])
            elif steps[i].undoable:
                needed.add(i)
                needed.update(plan.deps[i])
        for i in needed:
            rec = records[i]
            if rec is not None:
                values[i] = rec.result
        for i in done:
            if steps[i].undoable and values[i] is not SKIPPED:
                with contextlib.suppress(Exception):  # what it read is all done: it resolves
                    self.undo_args[i] = resolve(self.args[i], values, self.inputs)
        return done

    def jstart(self, i: int, rec: StepRecord, attempt: int) -> bool:
        """Journal that attempt ``attempt`` of step ``i`` starts; False if the journal failed."""
        jr = self.jr
        assert jr is not None
        jseq = self.jseq
        need = 0
        for d in self.plan.deps[i]:
            if jseq[d] > need:  # noqa: PLR1730 - per step: a compare, not a call
                need = jseq[d]
        try:
            jr.intent(self.jpaths[i], attempt, need)
        except Exception as exc:  # noqa: BLE001 - the step fails with the journal's error
            self.fail(i, rec, exc, attempt - 1)
            return False
        return True

    # -- workers --------------------------------------------------------------------------

    async def worker(self, i: int) -> None:
        """Run step ``i`` and whatever this worker takes on after it (the runner's hot loop)."""
        raise NotImplementedError

    def start(self, ready: Sequence[int]) -> None:
        self.ready.extend(ready)
        self.spread()

    def spread(self) -> None:
        """Give ready steps workers: a batch now, the next batch on the loop's next turn.

        Workers take ready steps themselves as they finish one, so a fan-out of steps that
        complete without suspending runs on a few tasks rather than one task per step (a
        task costs what a few steps do, and all of them at once is the run's peak memory).
        Steps that suspend get a worker each, a batch per turn of the event loop, until
        every ready step has one (or ``max_concurrency`` workers run).
        """
        self.trickling = False
        if self.stopping:
            return
        ready = self.ready
        batch = _BATCH
        while ready and batch and self.active < self.limit:
            self.spawn(ready.popleft())
            batch -= 1
        if ready and self.active < self.limit:
            self.trickling = True
            self.loop.call_soon(self.spread)

    def spawn(self, i: int) -> None:
        self.active += 1
        self.tasks[i] = self.loop.create_task(self.worker(i))

    def retire(self, first: int) -> None:
        """Called by the worker spawned for step ``first`` as it ends (in its ``finally``)."""
        self.tasks.pop(first, None)
        self.active -= 1
        if self.ready and not self.stopping:
            self.spread()  # a worker that stopped early leaves ready steps to others
        if not self.active and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def _reap(self, first: int, task: asyncio.Task[None]) -> None:
        # A task cancelled before its coroutine started never ran its ``finally``.
        if self.tasks.get(first) is task:
            del self.tasks[first]
            self.active -= 1
            if not self.active and self.done is not None and not self.done.done():
                self.done.set_result(None)

    def next_step(self, newly: Sequence[int]) -> int:
        """Queue what became ready and return the step this worker runs next (or -1).

        The rest wait in the queue for workers that finish, and for :meth:`spread`,
        scheduled here, which starts more workers on the loop's next turn.
        """
        if self.stopping:
            return -1
        ready = self.ready
        if newly:
            if not ready and len(newly) == 1:
                return newly[0]
            ready.extend(newly)
        if not ready:
            return -1
        nxt = ready.popleft()
        if ready and not self.trickling and self.active < self.limit:
            self.trickling = True
            self.loop.call_soon(self.spread)
        return nxt

    # -- stopping -------------------------------------------------------------------------

    def arm(self) -> None:
        """Watch the context: its deadline and its cancellation stop the run."""
        ctx = self.ctx
        if ctx.cancel_token.cancelled:
            self.on_cancel(ctx.cancel_token.reason)
            return
        if ctx.deadline is not None:
            left = ctx.deadline - time.monotonic()
            if left <= 0:
                self.on_deadline()
                return
            self.timers.append(self.loop.call_later(left, self.on_deadline))
        self.unregister = ctx.cancel_token.on_cancel(self._on_token)

    def disarm(self) -> None:
        for timer in self.timers:
            timer.cancel()
        if self.unregister is not None:
            self.unregister()
            self.unregister = None

    def _on_token(self, reason: str) -> None:
        # Runs in whichever thread cancelled the context.
        with contextlib.suppress(RuntimeError):  # a closed loop: the run is over anyway
            self.loop.call_soon_threadsafe(self.on_cancel, reason)

    def on_cancel(self, reason: str) -> None:
        self.abort(RunStatus.CANCELLED, Cancelled(reason or f"run of {self.name!r} cancelled"))

    def on_deadline(self) -> None:
        running = [r.name for r in self.records if r is not None and r.status is StepStatus.RUNNING]
        shown = ", ".join(map(repr, running[:10]))
        if len(running) > 10:
            shown += f" and {len(running) - 10} more"
        what = f"running steps stopped: {shown}" if running else "no step was running"
        self.abort(
            RunStatus.FAILED,
            DeadlineExceeded(f"workflow {self.name!r} passed its deadline; {what}"),
        )

    def abort(self, status: RunStatus, error: BaseException) -> None:
        """Stop the run for ``error``; a halted run keeps its status, a failing one too."""
        if self.status is None:
            self.status, self.error = status, error
        elif self.status is not RunStatus.HALTED:
            return
        self.stop(error)

    def stop(self, why: BaseException) -> None:
        """Start nothing more, cancel every running worker, and cancel the steps' contexts."""
        self.stopping = True
        self.stop_error = why
        self.ready.clear()
        current = asyncio.current_task()
        for first, task in tuple(self.tasks.items()):
            if task is not current:
                task.cancel()
                task.add_done_callback(functools.partial(self._reap, first))
        if self.unregister is not None:
            self.unregister()
            self.unregister = None
        self.ctx.cancel(str(why))

    # -- final statuses -------------------------------------------------------------------

    def settle_record(self, rec: StepRecord, event: str = "step.stop", i: int = -1) -> None:
        """Report a step's final status (to ``on_step`` and telemetry): the one point.

        ``i`` is the step's index when the caller knows it (the hot loop does).
        """
        try:
            jr = self.jr
            if jr is not None:
                if i < 0:
                    i = self.plan.index.get(rec.name, -1)
                path = self.jpaths[i] if i >= 0 else self.prefix + rec.name
                seq = jr.outcome(path, rec)
                if i >= 0:
                    self.jseq[i] = seq
            if self.on_step is not None or self.telemetry.enabled:
                settle(self.ctx, rec, self.telemetry, self.on_step, event)
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            # A journal that cannot record a step must not let the run go on unrecorded.
            self.abort(RunStatus.FAILED, exc)

    def _close(self, rec: StepRecord, status: StepStatus, attempts: int, error: Any) -> None:
        rec.status = status
        rec.attempts = attempts
        rec.error = error
        rec.duration = time.monotonic() - self.t0 - (rec.start or 0.0)
        self.settle_record(rec)

    def skip(self, i: int, step: Step) -> int:
        """Record a step whose ``where`` was false; return the next step for the worker."""
        rec = StepRecord(self.frame, i, time.monotonic() - self.t0, StepStatus.SKIPPED)
        rec.duration = 0.0
        rec.result = SKIPPED
        self.records[i] = rec
        self.values[i] = SKIPPED
        self.completed.append(i)
        self.settle_record(rec, "step.skip")
        return self.next_step(self.sched.done(i))

    def fail(
        self, i: int, rec: StepRecord, cause: Exception, attempts: int, detail: str = ""
    ) -> None:
        """Record a step that failed for good; the first failure stops the run."""
        step = self.steps[i]
        failure = StepFailed(
            step.name, attempts=attempts, cause=cause, workflow=self.name, detail=detail
        )
        self.records[i] = rec
        self._close(rec, StepStatus.FAILED, attempts, failure)
        if self.status is None:
            self.status, self.error = RunStatus.FAILED, failure
            self.stop(Cancelled(f"step {step.name!r} failed"))

    def cancelled(self, rec: StepRecord, attempts: int) -> None:
        """Record a step stopped by the run (its failure, deadline, cancellation or halt)."""
        if not self.stopping:
            # Nobody inside the run asked for this: treat it as cancelling the whole run.
            self.abort(
                RunStatus.CANCELLED, Cancelled(f"step {rec.name!r} was cancelled from outside")
            )
        self._close(rec, StepStatus.CANCELLED, attempts, self.stop_error)

    def halt(self, rec: StepRecord, signal: Halt, attempts: int) -> None:
        """Record a step that asked to halt; the first halt stops starting new steps."""
        self._close(rec, StepStatus.HALTED, attempts, signal)
        if self.status is not None:
            return
        self.status, self.halt_reason = RunStatus.HALTED, signal.reason or None
        self.stopping = True
        self.ready.clear()
        grace = self.runtime.halt_grace
        why = Cancelled(f"the run halted and this step did not finish within {grace:g}s")
        self.timers.append(self.loop.call_later(grace, self.stop, why))

    # -- the end --------------------------------------------------------------------------

    async def finish(self, started_at: float) -> RunResult:
        """Build the run result; roll back a failed or cancelled run; report it."""
        status = self.status or RunStatus.SUCCEEDED
        value = None
        if status is RunStatus.SUCCEEDED:
            try:
                value = self.plan.evaluate_return(self.values, self.inputs)
            except Exception as exc:  # noqa: BLE001 - a bad path into a result fails the run
                status = RunStatus.FAILED
                self.error = WorkflowError(
                    f"workflow {self.name!r}: its return could not be built: {describe(exc)}"
                )
                self.error.__cause__ = exc
        records = self._all_records()
        result = RunResult(
            self.workflow,
            self.plan,
            run_id=self.ctx.run_id,
            trace_id=self.ctx.trace_id,
            inputs=self.inputs,
            records=records,
            started_at=started_at,
        )
        result.status, result.value, result.error = status, value, self.error
        result.halt_reason = self.halt_reason
        result._completed = self.completed
        result._undo_args = self.undo_args
        result._path = self.prefix
        top = self.jr if self.jr is not None and not self.prefix else None
        if status is RunStatus.FAILED or status is RunStatus.CANCELLED:
            if top is not None:
                self._journal_status(top, "rolling_back", None)
            await arollback(result, self.runtime, self.ctx, self.on_step)
        result.duration = time.monotonic() - self.t0
        if top is not None:
            self._journal_status(top, status.value, result)
            top.stop()
        self._report(result)
        self.frame.seal()
        return result

    def _journal_status(self, jr: Durable, status: str, result: RunResult | None) -> None:
        """Record the run's status; a journal failure becomes the run's error (if it had none)."""
        from .durable import encode

        data = None
        error = describe(self.error) if self.error is not None else None
        try:
            if result is not None and result.status is RunStatus.SUCCEEDED:
                data = encode(jr.codec, result.value, f"the return value of {self.name!r}")
            jr.writer.set_status(status, result=data, error=error)
        except Exception as exc:  # noqa: BLE001 - reported, never lost
            jr.failed = jr.failed or exc
            if result is not None and result.error is None:
                result.status, result.error = RunStatus.FAILED, exc
            elif self.error is None:
                self.status, self.error = RunStatus.FAILED, exc

    def _all_records(self) -> list[StepRecord]:
        records, frame = self.records, self.frame
        for i, rec in enumerate(records):
            if rec is None:
                records[i] = StepRecord(frame, i, None, StepStatus.PENDING)
        return cast("list[StepRecord]", records)

    def _report(self, result: RunResult) -> None:
        if self.telemetry.enabled:
            failed = result.error.step if isinstance(result.error, StepFailed) else None
            self.telemetry.emit(
                "run.stop",
                self.ctx,
                step=failed,
                duration=result.duration,
                workflow=self.name,
                status=result.status.value,
                error=describe(result.error) if result.error is not None else None,
                completed=len(result._completed),
                undo_errors=len(result.undo_errors),
            )
