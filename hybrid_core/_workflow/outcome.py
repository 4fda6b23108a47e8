"""What a run leaves behind: a record per step and the run result that holds them all."""

from __future__ import annotations

import enum
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from math import isnan
from struct import pack
from typing import TYPE_CHECKING, Any, cast

from ..exceptions import (
    UndoFailed,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowHalted,
    WorkflowRunError,
    describe_error,
)

if TYPE_CHECKING:
    from .definition import Workflow
    from .planner import Plan
    from .step import Step

__all__ = ["Frame", "RunResult", "RunStatus", "StepRecord", "StepStatus", "StepsView"]


class StepStatus(str, enum.Enum):
    """Where a step stands at the end of a run (``RUNNING`` only while it runs)."""

    PENDING = "pending"  # never started
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPENSATED = "compensated"  # failed, and its compensation supplied a result
    SKIPPED = "skipped"  # its ``where`` was false; its result is SKIPPED
    FAILED = "failed"
    CANCELLED = "cancelled"  # started, then stopped by the run (failure, deadline, halt)
    HALTED = "halted"  # it asked the run to halt
    UNDONE = "undone"  # succeeded, then rolled back
    UNDO_FAILED = "undo_failed"  # succeeded; rolling it back raised

    def __str__(self) -> str:
        return self.value

    @property
    def done(self) -> bool:
        """True when the step's result is in effect: a resumed run does not run it again."""
        return self in _DONE


_DONE = frozenset({StepStatus.SUCCEEDED, StepStatus.COMPENSATED, StepStatus.SKIPPED})


class RunStatus(str, enum.Enum):
    """How a run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HALTED = "halted"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class Frame(array):  # type: ignore[type-arg]
    """One run's columns of per-step facts its records read: the steps, the times, who
    served them.

    A record keeps its own status, attempts, result and the rare facts (errors, nested
    runs); the times are kept here (a step's start at its index, its duration ``len(steps)``
    further on, NaN for one not taken), rather than as two attributes of every record; the
    providers only once a step has one. One object a run, so a map's small element runs
    pay for one.

    While the run goes on, the times are a list (``live``): storing a float in a list is
    a pointer store, where an array item has to be converted on every store. When the run
    ends, :meth:`seal` packs them into the frame as doubles, 16 bytes a step, and drops
    the list with its float objects.
    """

    __slots__ = ("live", "n", "providers", "steps")

    def __new__(cls, steps: Sequence[Step], *, live: bool = False) -> Frame:
        n = len(steps)
        if live:
            frame = cast("Frame", super().__new__(cls, "d"))
            frame.live = [_NAN] * (2 * n)
        else:
            frame = cast("Frame", super().__new__(cls, "d", _NOT_TAKEN * (2 * n)))
            frame.live = None
        frame.steps = steps
        frame.n = n
        frame.providers = None
        return frame

    live: list[float] | None
    n: int
    steps: Sequence[Step]
    providers: list[str | None] | None

    def times(self) -> list[float] | Frame:
        """Where the times are now: the live list, or the frame itself once sealed."""
        live = self.live
        return self if live is None else live

    def seal(self) -> None:
        """Pack the live times into the frame, once the run has ended."""
        live = self.live
        if live is not None:
            self.frombytes(pack(f"{len(live)}d", *live))
            self.live = None


_NAN = float("nan")
_NOT_TAKEN = array("d", (_NAN,)).tobytes()  # a time not taken, as the frame stores it


class _Rare:
    """A record's facts that most steps never have."""

    __slots__ = ("children", "error", "fallback", "undo_error")

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.fallback: str | None = None
        self.children: tuple[RunResult | None, ...] = ()
        self.undo_error: UndoFailed | None = None


_PLAIN = _Rare()  # what a record without rare facts reads; never written


class StepRecord:
    """What happened to one step in one run.

    ``start`` and ``duration`` are seconds: ``start`` counts from the start of the run.
    ``result`` is set when the step succeeded (or was compensated or skipped). ``error`` is
    the StepFailed of a failed step, the signal of a halted or cancelled one, and, for a
    step that succeeded after retries, the error of its last failed attempt. ``children``
    holds the runs of nested workflows (compose, map, switch), ``provider`` what served the
    step when a router chose it, and ``fallback``, when that provider was not the preferred
    one, why (``"pyflakes was cooling down"``).

    Records are made by runs, one per step of the run's plan.
    """

    __slots__ = ("_frame", "_i", "_x", "attempts", "result", "status")

    def __init__(
        self,
        frame: Frame,
        i: int,
        start: float | None = None,
        status: StepStatus = StepStatus.RUNNING,
    ) -> None:
        self._frame = frame
        self._i = i
        self.status = status
        self.attempts = 0
        self.result: Any = None
        self._x = _PLAIN
        if start is not None:  # a frame's times start as not taken; one record a step
            (frame.live or frame)[i] = start

    @property
    def name(self) -> str:
        return self._frame.steps[self._i].name

    @property
    def kind(self) -> str:
        return self._frame.steps[self._i].kind

    @property
    def start(self) -> float | None:
        start: float = self._frame.times()[self._i]
        return None if isnan(start) else start

    @start.setter
    def start(self, value: float | None) -> None:
        self._frame.times()[self._i] = _NAN if value is None else float(value)

    @property
    def duration(self) -> float | None:
        frame = self._frame
        duration: float = frame.times()[frame.n + self._i]
        return None if isnan(duration) else duration

    @duration.setter
    def duration(self, value: float | None) -> None:
        frame = self._frame
        frame.times()[frame.n + self._i] = _NAN if value is None else float(value)

    @property
    def provider(self) -> str | None:
        providers = self._frame.providers
        return None if providers is None else providers[self._i]

    @provider.setter
    def provider(self, value: str | None) -> None:
        frame = self._frame
        if frame.providers is None:
            if value is None:
                return
            frame.providers = [None] * frame.n
        frame.providers[self._i] = value

    def _rare(self) -> _Rare:
        x = self._x
        if x is _PLAIN:
            x = self._x = _Rare()
        return x

    @property
    def error(self) -> BaseException | None:
        return self._x.error

    @error.setter
    def error(self, value: BaseException | None) -> None:
        if value is not None or self._x is not _PLAIN:
            self._rare().error = value

    @property
    def fallback(self) -> str | None:
        return self._x.fallback

    @fallback.setter
    def fallback(self, value: str | None) -> None:
        if value is not None or self._x is not _PLAIN:
            self._rare().fallback = value

    @property
    def children(self) -> tuple[RunResult | None, ...]:
        return self._x.children

    @children.setter
    def children(self, value: tuple[RunResult | None, ...]) -> None:
        if value or self._x is not _PLAIN:
            self._rare().children = value

    @property
    def undo_error(self) -> UndoFailed | None:
        return self._x.undo_error

    @undo_error.setter
    def undo_error(self, value: UndoFailed | None) -> None:
        if value is not None or self._x is not _PLAIN:
            self._rare().undo_error = value

    def copy(self, frame: Frame, i: int) -> StepRecord:
        """A shallow copy as step ``i`` of ``frame`` (a resumed run updates its own
        records, not the old run's)."""
        other = StepRecord(frame, i, self.start, self.status)
        other.duration = self.duration
        other.attempts = self.attempts
        other.result = self.result
        other.provider = self.provider
        x = self._x
        if x is not _PLAIN:
            y = other._x = _Rare()
            y.error, y.fallback, y.children, y.undo_error = (
                x.error,
                x.fallback,
                x.children,
                x.undo_error,
            )
        return other

    def __repr__(self) -> str:
        error = f" error={describe_error(self.error)!r}" if self.error is not None else ""
        return f"<StepRecord {self.name!r} {self.status.value} attempts={self.attempts}{error}>"


class StepsView(Mapping[str, StepRecord]):
    """A read-only mapping of step name to record, in definition order."""

    __slots__ = ("_index", "_records")

    def __init__(self, index: Mapping[str, int], records: list[StepRecord]) -> None:
        self._index = index
        self._records = records

    def __getitem__(self, name: str) -> StepRecord:
        return self._records[self._index[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"<StepsView {len(self)} steps>"


class RunResult:
    """The outcome of a run: its status, return value or error, and a record per step.

    Nothing is dropped: a failed, halted or cancelled run still holds every completed
    step's result in ``steps``. ``unwrap()`` returns the value or raises; pass a halted (or
    failed) result to a resume to run only what is not done.
    """

    __slots__ = (
        "_done",
        "_load",
        "_path",
        "_plan",
        "_recs",
        "_undo_args",
        "duration",
        "error",
        "halt_reason",
        "inputs",
        "run_id",
        "started_at",
        "status",
        "trace_id",
        "undo_errors",
        "value",
        "workflow",
    )

    def __init__(
        self,
        workflow: Workflow,
        plan: Plan,
        *,
        run_id: str,
        trace_id: str,
        inputs: Mapping[str, Any],
        records: list[StepRecord],
        started_at: float,
    ) -> None:
        self.workflow = workflow
        self._plan = plan
        self.run_id = run_id
        self.trace_id = trace_id
        self.inputs = inputs
        self._recs = records
        self._load: Callable[[], tuple[list[StepRecord], list[int]]] | None = None
        self.started_at = started_at
        self.status = RunStatus.SUCCEEDED
        self.value: Any = None
        self.error: BaseException | None = None
        self.halt_reason: str | None = None
        self.duration = 0.0
        self.undo_errors: list[UndoFailed] = []
        self._done: list[int] = []
        self._undo_args: dict[int, Mapping[str, Any]] = {}
        self._path = ""  # the structural path prefix of its steps in a journaled run

    @classmethod
    def deferred(
        cls,
        workflow: Workflow,
        plan: Plan,
        load: Callable[[], tuple[list[StepRecord], list[int]]],
        **fields: Any,
    ) -> RunResult:
        """A result whose records ``load()`` returns (records, completed indices) when
        first needed: a finished run read back from its journal reads its steps then."""
        result = cls(workflow, plan, records=[], **fields)
        result._load = load
        return result

    def _loaded(self) -> None:
        load, self._load = self._load, None
        if load is not None:
            self._recs, self._done = load()

    @property
    def _records(self) -> list[StepRecord]:
        if self._load is not None:
            self._loaded()
        return self._recs

    @property
    def _completed(self) -> list[int]:
        if self._load is not None:
            self._loaded()
        return self._done

    @_completed.setter
    def _completed(self, value: list[int]) -> None:
        if self._load is not None:
            self._loaded()
        self._done = value

    @property
    def name(self) -> str:
        """The workflow's name."""
        return self.workflow.name

    @property
    def plan(self) -> Plan:
        """The plan the run followed."""
        return self._plan

    @property
    def steps(self) -> StepsView:
        """Step name -> :class:`StepRecord`, for every step of the workflow."""
        return StepsView(self._plan.index, self._records)

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    @property
    def completed(self) -> tuple[str, ...]:
        """Names of the steps that completed, in the order they completed."""
        names = self._plan.names
        return tuple(names[i] for i in self._completed)

    @property
    def results(self) -> dict[str, Any]:
        """Step name -> result, for every step whose result is in effect."""
        return {r.name: r.result for r in self._records if r.status.done}

    def raise_for_status(self) -> RunResult:
        """Return self when the run succeeded; else raise a WorkflowRunError holding it."""
        if self.status is RunStatus.SUCCEEDED:
            return self
        error = self._run_error()
        raise error from self.error

    def unwrap(self) -> Any:
        """The return value of a succeeded run; raise a WorkflowRunError otherwise."""
        return self.raise_for_status().value

    def _run_error(self) -> WorkflowRunError:
        name = self.name
        if self.status is RunStatus.HALTED:
            done = sum(1 for r in self._records if r.status.done)
            why = f": {self.halt_reason}" if self.halt_reason else ""
            return WorkflowHalted(
                self,
                f"workflow {name!r} halted{why}; {done} of {len(self._records)} steps are "
                "done; resume the run to do the rest",
            )
        detail = describe_error(self.error)
        if self.undo_errors:
            detail += f"; {len(self.undo_errors)} undo(s) failed, first: {self.undo_errors[0]}"
        if self.status is RunStatus.CANCELLED:
            return WorkflowCancelled(self, f"workflow {name!r} was cancelled: {detail}")
        return WorkflowFailed(self, f"workflow {name!r} failed: {detail}")

    def summary(self, *, error: bool = True) -> str:
        """A readable report: the run's status (with its error, unless ``error=False``:
        the CLI prints it once on its own line), then one line per step.

        A step line says how the step ended, after how many attempts when more than one,
        and how long it took; a failed step's error is shown only when it is not the run's.
        """
        head = f"workflow {self.name!r} {self.status.value} in {self.duration:.3f}s"
        if error and self.error is not None:
            head += f": {describe_error(self.error)}"
        lines = [head]
        for rec in self._records:
            line = f"  {rec.name} [{rec.kind}] {_ended(rec)}"
            if rec.duration is not None:
                line += f" in {rec.duration:.3f}s"
            if rec.status is StepStatus.FAILED and rec.error not in (None, self.error):
                line += f": {describe_error(rec.error)}"
            if rec.undo_error is not None:
                line += f"; {rec.undo_error}"
            if rec.fallback is not None:
                line += f" (served by {rec.provider}: {rec.fallback})"
            lines.append(line)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<RunResult {self.name!r} {self.status.value} steps={len(self._plan)} "
            f"duration={self.duration:.3f}s>"
        )


def _ended(rec: StepRecord) -> str:
    """``succeeded``, ``failed after 3 attempts``, ``not started``: how a step ended."""
    if rec.status is StepStatus.PENDING:
        return "not started"
    status: str = rec.status.value
    if rec.attempts > 1:
        return f"{status} after {rec.attempts} attempts"
    return status
