"""Between a run and its journal: what the runner writes, what a resume reads back.

A :class:`Durable` belongs to one top-level run and is shared by its nested runs (each
knows its own path prefix). It turns step records into journal rows (results through the
codec, checked the moment a step completes), commits them in groups (before a step starts
whose dependencies are not yet committed, at the end of the loop's turn, at the end of the
run), renews the run's lease, and on a resume hands each step the outcome it had.

Paths are structural: ``name`` for a top-level step, ``name/inner`` inside a composed
workflow, ``name[3]/inner`` inside element 3 of a map, ``name:branch/inner`` inside a
switch's branch. Concurrency never changes a path, so it never changes what a resume does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._core.context import new_trace_id
from .._core.util import gc_paused
from .._journal.codec import SCALAR as _SCALAR
from .._journal.codec import Codec, JsonCodec
from ..exceptions import JournalCodecError, describe_error
from .outcome import _PLAIN, Frame, RunResult, StepRecord, StepStatus
from .refs import SKIPPED

if TYPE_CHECKING:
    from .._journal.store import RunWriter
    from .definition import Workflow
    from .step import Step

__all__ = ["Durable", "changed_steps", "encode", "fingerprints", "finished"]

Row = tuple[int, str, Any, int, "str | None"]  # seq, status, encoded value, attempts, provider
_TOP = re.compile(r"[/\[:]")


def encode(codec: Codec, value: Any, what: str) -> str | bytes:
    """Encode ``value``; a refusal names ``what`` it is (``step 'parse''s result``)."""
    try:
        if isinstance(codec, JsonCodec):
            return codec._encode_at(value, what)
        data = codec.encode(value)
    except JournalCodecError as exc:
        if isinstance(codec, JsonCodec):
            raise
        raise JournalCodecError(f"{what}: {exc}", type_name=exc.type_name) from None
    except Exception as exc:
        raise JournalCodecError(
            f"{what} could not be encoded by codec {codec.name!r}: {describe_error(exc)}",
            type_name=type(value).__qualname__,
        ) from exc
    if not isinstance(data, (str, bytes)):
        raise JournalCodecError(
            f"{what}: codec {codec.name!r} returned {type(data).__name__} from encode(), "
            "which a journal cannot store; its encode() must return str or bytes",
            type_name=type(value).__qualname__,
        )
    return data


class Durable:
    """One journaled run's writer, restore data and commit policy."""

    __slots__ = (
        "codec",
        "failed",
        "json",
        "loaded",
        "loader",
        "loop",
        "on_error",
        "restored",
        "rollback_only",
        "scheduled",
        "timer",
        "writer",
    )

    def __init__(
        self,
        writer: RunWriter,
        loader: Callable[[str | None], Mapping[str, Row]] | None = None,
        *,
        rollback_only: bool = False,
    ) -> None:
        """``loader(None)`` reads a resumed run's top-level outcomes, ``loader(name)``
        those below the top-level step ``name``; without one, nothing is resumed."""
        self.writer = writer
        self.codec = writer.codec
        self.json = type(self.codec) is JsonCodec  # plain values take a shortcut
        self.loader = loader
        self.loaded: set[str] = set()
        self.restored: dict[str, Row] = dict(loader(None)) if loader is not None else {}
        self.rollback_only = rollback_only
        self.loop: asyncio.AbstractEventLoop | None = None
        self.scheduled = False
        self.timer: asyncio.TimerHandle | None = None
        self.failed: BaseException | None = None
        self.on_error: Callable[[BaseException], None] | None = None

    @property
    def run_id(self) -> str:
        return self.writer.run_id

    # -- the run's lifetime ---------------------------------------------------------------

    def start(self, on_error: Callable[[BaseException], None]) -> None:
        """Called as the top-level run starts: commits at the loop's turns, lease renewal."""
        self.loop = asyncio.get_running_loop()
        self.on_error = on_error
        self._arm()

    def _arm(self) -> None:
        assert self.loop is not None
        self.timer = self.loop.call_later(self.writer.journal.lease / 3, self._renew)

    def _renew(self) -> None:
        self.writer.renew_at = 0.0  # due now
        self._flush_now()
        if self.failed is None:
            self._arm()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.loop = None

    def _flush_now(self) -> None:
        self.scheduled = False
        if self.failed is not None:
            return
        try:
            self.writer.flush()
        except Exception as exc:  # noqa: BLE001 - the run fails with it
            self.failed = exc
            if self.on_error is not None:
                self.on_error(exc)

    def _later(self) -> None:
        if not self.scheduled and self.loop is not None:
            self.scheduled = True
            self.loop.call_soon(self._flush_now)

    def flush(self) -> None:
        """Commit now; raises what the journal raised (the caller fails the run with it)."""
        if self.failed is not None:
            raise self.failed
        self.writer.flush()

    # -- rows -----------------------------------------------------------------------------

    def intent(self, path: str, attempt: int, need: int) -> None:
        """Attempt ``attempt`` of ``path`` starts; commit first what it depends on.

        Its own intent row goes in the next commit (at the latest when the loop turns).
        """
        writer = self.writer
        if writer.durable < need:
            self.flush()
        writer.intent(path, attempt)
        if not self.scheduled:
            self._later()

    def outcome(self, path: str, rec: StepRecord) -> int:
        """Buffer a step's final status (its result through the codec); the row's number."""
        status = rec.status
        value: str | bytes | None = None
        error = None
        if status in _DONE:
            result = rec.result
            scalar = _SCALAR.get(type(result)) if self.json else None
            if scalar is not None:
                value = scalar(result)
            elif result is not SKIPPED:
                value = encode(self.codec, result, f"the result of step {path!r}")
        elif rec.error is not None:
            error = describe_error(rec.error)
        seq = self.writer.add(
            path, "outcome", rec.attempts, _VALUE[status], rec.provider, value, error, rec.duration
        )
        if not self.scheduled:
            self._later()
        return seq

    def element(self, path: str, value: Any) -> None:
        """A map element's result (its own row, so a resume skips the element)."""
        data = encode(self.codec, value, f"the result of {path!r}")
        self.writer.add(path, "outcome", 1, "succeeded", None, data)
        self._later()

    def compensated(self, path: str, attempt: int, decision: str, error: BaseException) -> None:
        """A compensation decided (``continue``, ``retry``, ``fail``, ``raised``)."""
        self.writer.add(path, "compensate", attempt, decision, None, None, describe_error(error))
        self._later()

    def undo(self, path: str, rec: StepRecord, took: float) -> None:
        """A rollback undid (or failed to undo) a step: committed before anything else."""
        error = describe_error(rec.undo_error) if rec.undo_error is not None else None
        self.writer.add(path, "undo", rec.attempts, rec.status.value, None, None, error, took)
        self.flush()

    # -- resume ---------------------------------------------------------------------------

    @property
    def resuming(self) -> bool:
        return self.loader is not None

    def _load_under(self, path: str) -> None:
        top = _TOP.split(path, 1)[0]
        if top != path and top not in self.loaded and self.loader is not None:
            self.loaded.add(top)
            self.restored.update(self.loader(top))

    def under(self, prefix: str) -> bool:
        """True when the journal holds an outcome below ``prefix`` (``route:refund/``)."""
        self._load_under(prefix)
        return any(p.startswith(prefix) for p in self.restored)

    def take(self, path: str) -> tuple[int, StepStatus, Any, int, str | None] | None:
        """The journaled outcome of ``path`` a resume reuses, decoded; None if it has none."""
        found = self.row(path)
        if found is None:
            return None
        seq, status, data, attempts, provider = found
        return seq, _STATUS[status], self.decode(status, data), attempts, provider

    def row(self, path: str) -> Row | None:
        """The journaled outcome of ``path`` a resume reuses, not decoded; None if none."""
        if self.loader is None:
            return None
        self._load_under(path)
        return self.restored.get(path)

    def rows_under(self, prefix: str) -> Mapping[str, Row]:
        """Every journaled outcome a resume may reuse, with those below ``prefix`` loaded."""
        if self.loader is None:
            return {}
        if prefix:
            self._load_under(prefix)
        return self.restored

    def decode(self, status: str, data: Any) -> Any:
        return SKIPPED if status == "skipped" and data is None else self.codec.decode(data)


_ENCODED = object()
_STATUS = {s.value: s for s in StepStatus}
_VALUE = {s: s.value for s in StepStatus}  # the enum's own lookup is a property call
_DONE = frozenset(s for s in StepStatus if s.done)


class JournaledRecord(StepRecord):
    """A step's record read back from the journal; its result is decoded when first read
    (a resume needs only the results that steps still to run, or the return, read)."""

    __slots__ = ("_data", "_decode")

    def __init__(self, frame: Frame, i: int, row: Row, decode: Callable[[str, Any], Any]) -> None:
        # Every slot but ``result``, which the property fills in when first read; the
        # frame's start stays "not taken", as it was never taken by this process.
        self._frame, self._i, self._x = frame, i, _PLAIN
        self.status, self.attempts = _STATUS[row[1]], row[3]
        frame.times()[frame.n + i] = 0.0  # its duration
        if row[4] is not None:
            self.provider = row[4]
        self._decode = decode
        self._data = row[2]

    @property
    def result(self) -> Any:
        data = self._data
        if data is not _ENCODED:
            _RESULT.__set__(self, self._decode(self.status.value, data))
            self._data = _ENCODED
        return _RESULT.__get__(self, StepRecord)

    @result.setter
    def result(self, value: Any) -> None:
        _RESULT.__set__(self, value)
        self._data = _ENCODED


_RESULT: Any = StepRecord.__dict__["result"]  # the slot the property stands in front of


def decoder(codec: Codec) -> Callable[[str, Any], Any]:
    """``decode(status, data)``: a journaled step's result back from ``codec``."""

    def decode(status: str, data: Any) -> Any:
        return SKIPPED if status == "skipped" and data is None else codec.decode(data)

    return decode


def finished(
    workflow: Workflow,
    run_id: str,
    inputs: Mapping[str, Any],
    value: Any,
    rows: Callable[[], Mapping[str, Row]],
    codec: Codec,
) -> RunResult:
    """The result of a journaled run that succeeded, as a resume hands it back.

    Nothing is left to run, so nothing runs: the value is the journaled return value, and
    the steps' records are read from the journal (``rows()``) when first asked for, their
    results decoded when read.
    """
    plan = workflow.plan()
    decode = decoder(codec)

    def load() -> tuple[list[StepRecord], list[int]]:
        with gc_paused():  # thousands of long-lived records at once, and no garbage
            return _records(plan.steps, rows(), decode)

    result = RunResult.deferred(
        workflow,
        plan,
        load,
        run_id=run_id,
        trace_id=new_trace_id(),
        inputs=inputs,
        started_at=time.time(),
    )
    result.value = value
    return result


def _records(
    steps: Sequence[Step], found: Mapping[str, Row], decode: Callable[[str, Any], Any]
) -> tuple[list[StepRecord], list[int]]:
    """A record per step, from its journaled row; and the indices in completion order."""
    records: list[StepRecord] = []
    order = []
    frame = Frame(steps)
    for i, step in enumerate(steps):
        row = found.get(step.name)
        if row is None:
            records.append(StepRecord(frame, i, None, StepStatus.PENDING))
        else:
            records.append(JournaledRecord(frame, i, row, decode))
            order.append((row[0], i))
    order.sort()
    return records, [i for _, i in order]


# -- fingerprints ---------------------------------------------------------------------------


def _code_of(fn: Any) -> str:
    target = getattr(fn, "__func__", fn)
    target = getattr(target, "__wrapped__", target)
    qual = getattr(target, "__qualname__", type(target).__qualname__)
    name = f"{getattr(target, '__module__', '?')}.{qual}"
    code = getattr(target, "__code__", None)
    if code is None:
        return name
    digest = hashlib.blake2b(code.co_code, digest_size=8)
    digest.update(repr(code.co_names).encode())
    digest.update(
        repr([c for c in code.co_consts if isinstance(c, (str, int, float, bytes))]).encode()
    )
    return f"{name}#{digest.hexdigest()}"


def _step_print(step: Step) -> str:
    parts = [
        step.kind,
        step.label,
        _code_of(step.target) if step.target is not None else "",
        repr(sorted((k, repr(v)) for k, v in step.arguments.items())),
        repr(step.wait_for),
        repr(step.retry),
        repr(step.timeout),
        *(_code_of(h) if h is not None else "-" for h in (step.where, step.compensate, step.undo)),
    ]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).hexdigest()


def fingerprints(workflow: Workflow) -> tuple[str, dict[str, str]]:
    """A digest of the whole definition, and one per step path (``[*]`` for elements).

    Computed once per plan (a workflow's plan is rebuilt when the workflow changes).
    """
    plan = workflow.plan()
    if plan.prints is None:
        prints: dict[str, str] = {}
        for step in plan.steps:
            prints[step.name] = _step_print(step)
            for nested in step.nested:
                if step.kind == "map":
                    inner = f"{step.name}[*]/"
                elif step.kind == "switch":
                    inner = f"{step.name}:{nested.name}/"
                else:
                    inner = f"{step.name}/"
                for path, digest in fingerprints(nested)[1].items():
                    prints[inner + path] = digest
        text = json.dumps(prints, sort_keys=True)
        whole = hashlib.blake2b(text.encode(), digest_size=12)
        whole.update(repr(tuple(workflow.inputs)).encode())
        plan.prints = (whole.hexdigest(), prints, text)
    return plan.prints[0], plan.prints[1]


def prints_text(workflow: Workflow) -> str:
    """:func:`fingerprints`' per-step digests as the JSON text a journal stores."""
    fingerprints(workflow)
    prints = workflow.plan().prints
    assert prints is not None
    return prints[2]


def changed_steps(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The step paths whose definition differs (added, removed or changed), sorted."""
    return sorted(p for p in {*old, *new} if old.get(p) != new.get(p))
