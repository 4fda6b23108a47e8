"""The runner: executes a plan on asyncio with retries, timeouts, compensation, undo and halts.

Why it is fast: a worker that completes a step goes on with the next ready step itself (a
chain runs in one task, with no task per step); more workers are spawned only when several
steps are ready at once, up to ``max_concurrency``. A step without a timeout gets no timer
and no wrapper task; arguments resolve through plans compiled once per workflow; telemetry
attributes are built only when a sink listens. The graph logic stays in the Scheduler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .._core.context import ExecutionContext
from .._execution.executor import Call, Executor
from .._telemetry.bus import TelemetryBus
from ..exceptions import Halt, StepTimeout, WorkflowError, describe_error
from .definition import Workflow
from .outcome import RunResult, RunStatus, StepRecord, StepStatus
from .policy import ContinueWith, RetryStep
from .refs import resolve
from .rollback import OnStep, hook_offer
from .signature import call_hook
from .state import RunState
from .step import FAST_ASYNC, FAST_SYNC, INVOKE, Step, StepCall
from .validation import check_options

if TYPE_CHECKING:
    from .durable import Durable

__all__ = ["Runner", "aresume_workflow", "arun_workflow"]

_RUNNING = StepStatus.RUNNING
_SUCCEEDED = StepStatus.SUCCEEDED
_RETRY = object()
_STOP = object()
_NO_TELEMETRY = TelemetryBus()


class Runner:
    """What the runs of one call share, and lend to steps that run nested workflows."""

    __slots__ = (
        "executor",
        "halt_grace",
        "journal",
        "max_concurrency",
        "on_step",
        "system",
        "telemetry",
    )

    def __init__(
        self,
        executor: Executor,
        telemetry: TelemetryBus,
        *,
        max_concurrency: int | None = None,
        halt_grace: float = 5.0,
        system: Any = None,
        on_step: OnStep | None = None,
        journal: Durable | None = None,
    ) -> None:
        self.journal = journal
        self.executor = executor
        self.telemetry = telemetry
        self.max_concurrency = max_concurrency
        self.halt_grace = halt_grace
        self.system = system
        self.on_step = on_step

    async def arun(
        self,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        *,
        context: ExecutionContext,
        resume: RunResult | None = None,
        path: str = "",
    ) -> RunResult:
        """Run ``workflow`` under a child of ``context`` (the run's own, which it may cancel).

        ``path`` prefixes its steps' structural paths (``files[3]/``) in the journal.
        """
        ctx = context.child(name=workflow.name)
        return await _Run(workflow, inputs, ctx, self, resume, path).arun()


class _TimeoutGuard:
    """Cancels the task running a step attempt when the step's timeout passes."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.fired = False
        self.task = task

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


def _uncancel(task: asyncio.Task[Any]) -> None:
    # Python 3.11+ counts cancellation requests; give back the one we consumed.
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


# How long a worker runs steps before it lets the event loop run others (seconds).
_TURN = 0.01


class _Run(RunState):
    __slots__ = ()

    async def arun(self) -> RunResult:
        self.loop = asyncio.get_running_loop()
        started_at = time.time()
        if self.telemetry.enabled:
            self.telemetry.emit(
                "run.start",
                self.ctx,
                workflow=self.name,
                steps=len(self.plan),
                inputs=tuple(self.inputs),
                resumed=self.previous is not None,
                graph=self.plan.graph,
            )
        self.t0 = time.monotonic()
        external = False
        jr = self.jr if not self.prefix else None
        if jr is not None:
            jr.start(self._journal_failed)
            if jr.rollback_only:
                self._finish_rollback()
        self.arm()
        try:
            if not self.stopping:
                self.start(self.sched.get_ready())
            external = await self._wait()
        finally:
            self.disarm()
        result = await self.finish(started_at)
        if external:
            # Re-raise for the awaiting task, carrying what the run did (a nested run's
            # step keeps it in its record's children).
            stop = asyncio.CancelledError()
            stop.run_result = result  # type: ignore[attr-defined]
            raise stop
        return result

    def _journal_failed(self, error: BaseException) -> None:
        self.abort(RunStatus.FAILED, error)

    def _finish_rollback(self) -> None:
        """Resume a run that stopped while rolling back: finish the rollback, run nothing."""
        self.status = RunStatus.FAILED
        self.error = WorkflowError(
            f"workflow {self.name!r} had failed and was rolling back when its process "
            "stopped; the resume finished the rollback"
        )
        self.stopping = True

    async def _wait(self) -> bool:
        """Wait until no worker runs; True when the awaiting task itself was cancelled."""
        external = False
        while self.active:
            self.done = self.loop.create_future()
            try:
                await self.done
            except asyncio.CancelledError:
                # Whoever awaits the run gave up: stop the workers, roll back, then re-raise.
                external = True
                self.on_cancel(f"the task awaiting workflow {self.name!r} was cancelled")
        return external

    async def worker(self, i: int) -> None:  # noqa: PLR0915 - the hot loop, long on purpose
        """Run step ``i``, then whatever became ready, until nothing is left for this worker.

        Long on purpose: this is the per-step path, kept free of extra calls and awaits.
        A success is recorded inline; every other outcome goes through the slower methods.
        """
        steps, args, values, inputs = self.steps, self.args, self.values, self.inputs
        records, completed, undo_args = self.records, self.completed, self.undo_args
        frame = self.frame
        times, n = frame.times(), frame.n
        telemetry, on_step, sched_done = self.telemetry, self.on_step, self.sched.done
        jr = self.jr
        monotonic, t0 = time.monotonic, self.t0
        first = i
        turn_ends = monotonic() + _TURN
        try:
            if self.stopping:  # spawned, then the run halted before this task got to run
                return
            while i >= 0:
                step = steps[i]
                try:
                    plan = args[i]
                    if plan[2] or plan[3]:  # references with a path, inputs, templates
                        kwargs = resolve(plan, values, inputs)
                    else:  # literals and whole results only: resolve(), inline
                        literals = plan[0]
                        kwargs = literals.copy() if literals is not None else {}
                        for name, key in plan[1]:
                            kwargs[name] = values[key]
                    if step.where is not None and not await self._passes(step, kwargs):
                        i = self.skip(i, step)
                        continue
                except Exception as exc:  # noqa: BLE001 - the step fails, the run decides
                    self.fail(i, StepRecord(frame, i, monotonic() - t0), exc, 0)
                    return
                start = monotonic() - t0
                rec = records[i] = StepRecord(frame, i, start)
                if telemetry.enabled:
                    telemetry.emit("step.start", self.ctx, step=step.name, kind=step.kind)
                mode = step.mode
                attempt = 0
                try:
                    while True:
                        attempt += 1
                        if jr is not None and not self.jstart(i, rec, attempt):
                            return
                        try:
                            if mode == FAST_ASYNC:
                                value = await step.target(**kwargs)
                            elif mode == FAST_SYNC:
                                value = step.target(**kwargs)
                            elif mode == INVOKE:
                                call = self.step_call(i, step, kwargs, attempt)
                                try:
                                    value = await step.invoke(call)  # type: ignore[misc] # INVOKE: set
                                finally:  # self.took(rec, call), inline
                                    provider = call.provider
                                    providers = frame.providers  # rec.provider = ..., inline
                                    if providers is not None:
                                        providers[i] = provider
                                    elif provider is not None:
                                        rec.provider = provider  # the first: makes the list
                                    if call.fallback is not None or call.children or attempt > 1:
                                        self.took(rec, call)
                            else:
                                value = await self._invoke(i, step, rec, kwargs, attempt)
                        except Exception as exc:  # noqa: BLE001 - retried, compensated or recorded
                            action = await self._recover(i, step, rec, kwargs, exc, attempt)
                            if action is _RETRY:
                                continue
                            if action is _STOP:
                                return
                            value = cast(ContinueWith, action).value
                        break
                except asyncio.CancelledError:
                    self.cancelled(rec, attempt)
                    return
                # Completed: record it here (the common case), then pick this worker's next.
                now = monotonic()
                times[n + i] = now - t0 - start  # the record's duration
                rec.attempts = attempt
                rec.result = value
                if rec.status is _RUNNING:
                    rec.status = _SUCCEEDED
                values[i] = value
                completed.append(i)
                if step.undoable:
                    undo_args[i] = kwargs
                if on_step is not None or telemetry.enabled or jr is not None:
                    self.settle_record(rec, "step.stop", i)
                if self.stopping:
                    return
                newly = sched_done(i)
                if not self.ready and len(newly) < 2:
                    i = newly[0] if newly else -1  # the common cases: a chain, or a leaf
                else:
                    i = self.next_step(newly)
                if i >= 0 and now > turn_ends:
                    # Steps that never suspend would hold the event loop for as long as
                    # they keep coming (a long chain, a worker draining a fan-out): give
                    # other tasks, timers and the spawning of more workers their turn.
                    await asyncio.sleep(0)
                    turn_ends = monotonic() + _TURN
                    if self.stopping:
                        return
        finally:
            self.retire(first)

    async def _passes(self, step: Step, kwargs: dict[str, Any]) -> bool:
        sig = step.where_signature
        assert step.where is not None and sig is not None
        verdict = step.where(**sig.pick(kwargs))
        if sig.is_async:
            verdict = await verdict
        return bool(verdict)

    def _invoke(
        self, i: int, step: Step, rec: StepRecord, kwargs: dict[str, Any], attempt: int
    ) -> Awaitable[Any]:
        """One attempt of a step off the fast paths, under its timeout if it has one."""
        if step.timeout is None:
            return self._call(i, step, rec, kwargs, attempt)
        return self._timed(i, step, rec, kwargs, attempt)

    async def _timed(
        self, i: int, step: Step, rec: StepRecord, kwargs: dict[str, Any], attempt: int
    ) -> Any:
        assert step.timeout is not None
        task = cast("asyncio.Task[Any]", asyncio.current_task())
        guard = _TimeoutGuard(task)
        timer = self.loop.call_later(step.timeout, guard.fire)
        try:
            if step.plain and step.is_async:
                value = await step.target(**kwargs)
            else:
                value = await self._call(i, step, rec, kwargs, attempt)
        except asyncio.CancelledError:
            if guard.fired and not self.stopping:
                _uncancel(task)
                raise StepTimeout(step.name, step.timeout, workflow=self.name) from None
            raise
        finally:
            timer.cancel()
        if guard.fired:  # the step swallowed our cancellation and returned anyway
            _uncancel(task)
        return value

    def step_call(self, i: int, step: Step, kwargs: dict[str, Any], attempt: int) -> StepCall:
        """What a step of another kind than a function gets for one attempt."""
        path = self.prefix + step.name
        previous = self.previous[i] if self.previous is not None and attempt == 1 else None
        # Without a timeout the step's context differs from the run's only in name, path
        # and span: it is made when first read (an engine step whose handler takes no
        # context, with telemetry off, never reads it).
        context = (
            None
            if step.timeout is None
            else self.ctx.child(name=step.name, timeout=step.timeout, path=path)
        )
        return StepCall(step, kwargs, context, attempt, self.runtime, previous, path, self.ctx)

    @staticmethod
    def took(rec: StepRecord, call: StepCall) -> None:
        """Into the step's record: what its invoke said of the attempt."""
        rec.provider, rec.fallback = call.provider, call.fallback
        if call.children:
            rec.children = tuple(call.children)

    async def _call(
        self, i: int, step: Step, rec: StepRecord, kwargs: dict[str, Any], attempt: int
    ) -> Any:
        if step.invoke is not None:
            call = self.step_call(i, step, kwargs, attempt)
            try:
                return await step.invoke(call)
            finally:
                self.took(rec, call)
        if step.wants_context:
            context = self.ctx.child(
                name=step.name, timeout=step.timeout, path=self.prefix + step.name
            )
            kwargs = {**kwargs, "context": context}
        if step.blocking:
            key = f"{self.ctx.run_id}/{self.prefix}{step.name}#{attempt}"
            return await self.runtime.executor.asubmit(
                Call(step.target, (), kwargs, where=step.pool, key=key)
            )
        if step.is_async:
            return await step.target(**kwargs)
        return step.target(**kwargs)

    async def _recover(
        self,
        i: int,
        step: Step,
        rec: StepRecord,
        kwargs: dict[str, Any],
        error: Exception,
        attempt: int,
    ) -> object:
        """Decide what a failed attempt leads to: _RETRY, _STOP, or a ContinueWith."""
        if isinstance(error, Halt):
            self.halt(rec, error, attempt)
            return _STOP
        rec.error = error
        if not self.stopping and step.retry.retries(error, attempt):
            await self._backoff(step, error, attempt)
            if not self.stopping:
                return _RETRY
        if self.stopping or step.compensate is None:
            self.fail(i, rec, error, attempt)
            return _STOP
        return await self._compensate(i, step, rec, kwargs, error, attempt)

    async def _backoff(self, step: Step, error: Exception, attempt: int) -> None:
        delay = step.retry.delay(attempt)
        if self.telemetry.enabled:
            self.telemetry.emit(
                "step.retry",
                self.ctx,
                step=step.name,
                kind=step.kind,
                attempt=attempt,
                delay=delay,
                error=describe_error(error),
            )
        if delay > 0:
            await asyncio.sleep(delay)

    async def _compensate(
        self,
        i: int,
        step: Step,
        rec: StepRecord,
        kwargs: dict[str, Any],
        error: Exception,
        attempt: int,
    ) -> object:
        """Ask the step's compensation what to do about a failure that would stand."""
        assert step.compensate is not None and step.compensate_signature is not None
        sig = step.compensate_signature
        offered = hook_offer(sig, self.ctx, step, kwargs, self.prefix + step.name, attempt=attempt)
        executor = self.runtime.executor if step.blocking else None
        try:
            decision = await call_hook(step.compensate, sig, error, offered, executor=executor)
        except Exception as exc:  # noqa: BLE001 - recorded in the StepFailed
            self._compensated(step, error, attempt, "raised")
            self.fail(i, rec, error, attempt, f"its compensation raised {describe_error(exc)}")
            return _STOP
        if isinstance(decision, ContinueWith):
            self._compensated(step, error, attempt, "continue")
            rec.status = StepStatus.COMPENSATED
            return decision
        if isinstance(decision, RetryStep):
            self._compensated(step, error, attempt, "retry")
            if attempt < step.retry.max_attempts and not self.stopping:
                await self._backoff(step, error, attempt)
                if not self.stopping:
                    return _RETRY
            detail = (
                "its compensation asked for another attempt, but all "
                f"{step.retry.max_attempts} allowed by its RetryPolicy were used"
            )
            self.fail(i, rec, error, attempt, detail)
            return _STOP
        self._compensated(step, error, attempt, "fail")
        detail = ""
        if decision is not None:
            detail = (
                f"its compensation returned {decision!r}, which is neither RetryStep() nor "
                "ContinueWith(value), so the failure stands"
            )
        self.fail(i, rec, error, attempt, detail)
        return _STOP

    def _compensated(self, step: Step, error: Exception, attempt: int, decision: str) -> None:
        if self.jr is not None:
            self.jr.compensated(self.prefix + step.name, attempt, decision, error)
        if self.telemetry.enabled:
            self.telemetry.emit(
                "step.compensate",
                self.ctx,
                step=step.name,
                kind=step.kind,
                attempt=attempt,
                decision=decision,
                error=describe_error(error),
            )


async def arun_workflow(
    workflow: Workflow,
    inputs: Mapping[str, Any] | None = None,
    *,
    executor: Executor,
    telemetry: TelemetryBus | None = None,
    context: ExecutionContext | None = None,
    max_concurrency: int | None = None,
    timeout: float | None = None,
    resume: RunResult | None = None,
    halt_grace: float = 5.0,
    system: Any = None,
    on_step: OnStep | None = None,
    journal: Durable | None = None,
) -> RunResult:
    """Run ``workflow`` with ``inputs``; return its RunResult, whatever the outcome.

    A failed run does not raise: call ``.unwrap()`` or ``.raise_for_status()`` for that.
    ``executor`` runs blocking steps; ``telemetry`` receives events (none when omitted).
    The run's context is a child of ``context`` (or a new root) whose deadline is
    ``timeout`` seconds away. At most ``max_concurrency`` steps run at once, in each nested
    run too. ``resume`` (an earlier result of this workflow) runs only the steps it did not
    complete, with its inputs. After a halt, running steps get ``halt_grace`` seconds to
    finish before they are cancelled. ``system`` is lent to steps that need the registry
    or the router; ``on_step(context, record)`` hears every settled step. ``journal``
    records the run (and, when it holds a journaled run's outcomes, resumes it).
    Raises WorkflowDefinitionError or WorkflowInputError before anything runs.
    """
    check_options(max_concurrency=max_concurrency, timeout=timeout, halt_grace=halt_grace)
    if resume is not None:
        if inputs:
            raise TypeError(
                "arun_workflow(): pass inputs or resume=, not both; a resumed run reuses the "
                "inputs of the run it resumes"
            )
        inputs = resume.inputs
    if context is None:
        run_id = resume.run_id if resume is not None else None
        if journal is not None:
            run_id = journal.run_id
        ctx = ExecutionContext.root(name=workflow.name, timeout=timeout, run_id=run_id)
    else:
        run_id = journal.run_id if journal is not None else None
        ctx = context.child(name=workflow.name, timeout=timeout, run_id=run_id)
    runner = Runner(
        executor,
        telemetry if telemetry is not None else _NO_TELEMETRY,
        max_concurrency=max_concurrency,
        halt_grace=halt_grace,
        system=system,
        on_step=on_step,
        journal=journal,
    )
    return await _Run(workflow, dict(inputs or {}), ctx, runner, resume).arun()


async def aresume_workflow(
    previous: RunResult,
    *,
    executor: Executor,
    telemetry: TelemetryBus | None = None,
    **options: Any,
) -> RunResult:
    """Resume ``previous`` (halted, failed or cancelled): run only what it did not complete.

    Takes the keyword options of :func:`arun_workflow`; the inputs are those of ``previous``.
    """
    return await arun_workflow(
        previous.workflow, executor=executor, telemetry=telemetry, resume=previous, **options
    )
