"""The execution context that flows through engines and workflows.

A context is an immutable record; :meth:`ExecutionContext.child` makes a cheap new one for
nested work. What children share with their parent by reference is the :class:`SharedState`
and the trace id; what they inherit is the deadline (never later than the parent's), the
cancellation (cancelling a parent cancels its children, not the other way round) and the
telemetry metadata.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import random

import attrs

from ..exceptions import Cancelled, DeadlineExceeded
from .util import new_rng

__all__ = ["CancelToken", "ExecutionContext", "SharedState"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
# Ids need uniqueness, not secrecy; getrandbits is fast. Made on first use.
_rng: random.Random | None = None


def _new_id(bits: int) -> str:
    global _rng  # noqa: PLW0603 - one generator per process, made lazily
    if _rng is None:
        _rng = new_rng()
    # W3C trace context forbids all-zero ids.
    value = 0
    while value == 0:
        value = _rng.getrandbits(bits)
    return f"{value:0{bits // 4}x}"


def new_trace_id() -> str:
    """Return a random W3C trace id (32 lowercase hex digits)."""
    return _new_id(128)


def new_span_id() -> str:
    """Return a random W3C span id (16 lowercase hex digits)."""
    return _new_id(64)


class SharedState:
    """A key-value store shared by a run and everything nested in it.

    Every context derived from one root shares the same store by reference, across engine
    and workflow boundaries, so a write is visible to all of them at once; the last write
    wins. :meth:`update` is an atomic read-modify-write, safe from threads and tasks alike.
    """

    __slots__ = ("_data", "_lock")

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value

    def setdefault(self, key: str, value: Any) -> Any:
        with self._lock:
            return self._data.setdefault(key, value)

    def update(self, key: str, fn: Callable[[Any], Any], default: Any = None) -> Any:
        """Replace ``key``'s value by ``fn(old)`` atomically and return the new value."""
        with self._lock:
            new = fn(self._data.get(key, default))
            self._data[key] = new
            return new

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def snapshot(self) -> dict[str, Any]:
        """Return a shallow copy of everything stored now."""
        with self._lock:
            return dict(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"SharedState(keys={sorted(self._data)!r})"


class CancelToken:
    """Cancellation that flows downward: cancelling a token cancels its children.

    Callbacks registered with :meth:`on_cancel` run once, in the thread that cancels.
    """

    __slots__ = ("__weakref__", "_callbacks", "_children", "_lock", "cancelled", "reason")

    def __init__(self) -> None:
        self.cancelled = False
        self.reason = ""
        # Weak: a child nobody holds any more needs no cancelling, and a long-lived parent
        # (a host's context reused for many calls) must not keep every child alive.
        self._children: weakref.WeakSet[CancelToken] = weakref.WeakSet()
        self._callbacks: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def child(self) -> CancelToken:
        """Return a token that is cancelled whenever this one is."""
        token = CancelToken()
        with self._lock:
            if not self.cancelled:
                self._children.add(token)
                return token
        token.cancel(self.reason)
        return token

    def on_cancel(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(reason)`` on cancellation (now, if already cancelled).

        Returns a function that removes the callback again.
        """
        with self._lock:
            if not self.cancelled:
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback(self.reason)
        return lambda: None

    def _discard(self, callback: Callable[[str], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def cancel(self, reason: str = "") -> None:
        """Cancel this token and every child; later calls do nothing."""
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            self.reason = reason
            children, self._children = list(self._children), weakref.WeakSet()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(reason)
        for token in children:
            token.cancel(reason)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled!r})"


def _metadata(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value)) if value else _EMPTY


@attrs.frozen(repr=False, eq=False)
class ExecutionContext:
    """Who is running what, for how long, on whose behalf; immutable, children are cheap.

    Build a root with :meth:`root`, nest with :meth:`child`. ``deadline`` is a
    ``time.monotonic()`` instant or ``None``. ``state`` is shared by the whole tree.
    ``path`` is the structural path of the step the context was made for
    (``files[3]/parse``; empty outside a step), inherited by the contexts below it.
    """

    run_id: str
    trace_id: str
    span_id: str
    parent: ExecutionContext | None
    depth: int
    state: SharedState
    deadline: float | None
    cancel_token: CancelToken
    metadata: Mapping[str, str]
    started_at: float
    started_monotonic: float
    name: str = ""
    path: str = ""

    @classmethod
    def root(
        cls,
        *,
        name: str = "",
        run_id: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        state: SharedState | Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        traceparent: str | None = None,
    ) -> ExecutionContext:
        """Start a new tree of contexts.

        ``timeout`` (seconds from now) and ``deadline`` (a monotonic instant) may both be
        given; the earlier one wins. ``traceparent`` continues a W3C trace from a caller.
        """
        now = time.monotonic()
        trace_id, parent_span = new_trace_id(), ""
        if traceparent:
            trace_id, parent_span = parse_traceparent(traceparent)
        if not isinstance(state, SharedState):
            state = SharedState(state)
        span = new_span_id()
        md = dict(metadata or {})
        if parent_span:
            md.setdefault("remote_parent_span_id", parent_span)
        return cls(
            run_id=run_id or span,
            trace_id=trace_id,
            span_id=span,
            parent=None,
            depth=0,
            state=state,
            deadline=earliest(deadline, None if timeout is None else now + timeout),
            cancel_token=CancelToken(),
            metadata=_metadata(md),
            started_at=time.time(),
            started_monotonic=now,
            name=name,
        )

    def child(
        self,
        *,
        name: str = "",
        run_id: str | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        path: str | None = None,
    ) -> ExecutionContext:
        """Return a context for nested work: same trace and state, a new span.

        A child's deadline is never later than its parent's; ``timeout`` can only shorten it.
        ``run_id`` defaults to the parent's (nested steps belong to the same run), ``path``
        to the parent's.
        """
        now = time.monotonic()
        deadline = self.deadline
        if timeout is not None:
            deadline = earliest(deadline, now + timeout)
        md = self.metadata
        if metadata:
            md = MappingProxyType({**self.metadata, **metadata})
        return ExecutionContext(
            run_id=run_id or self.run_id,
            trace_id=self.trace_id,
            span_id=new_span_id(),
            parent=self,
            depth=self.depth + 1,
            state=self.state,
            deadline=deadline,
            cancel_token=self.cancel_token.child(),
            metadata=md,
            started_at=time.time(),
            started_monotonic=now,
            name=name,
            path=self.path if path is None else path,
        )

    @property
    def idempotency_key(self) -> str:
        """``run_id/path``: the same for every attempt of a step, across resumes too.

        A step with side effects passes it on (as an ``Idempotency-Key`` header, a unique
        column, ...) so that an attempt that runs again after a crash is recognised.
        """
        return f"{self.run_id}/{self.path}" if self.path else self.run_id

    @property
    def parent_span_id(self) -> str | None:
        """The span id of the parent context, if any."""
        return self.parent.span_id if self.parent is not None else None

    @property
    def traceparent(self) -> str:
        """This context as a W3C ``traceparent`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-01"

    @property
    def elapsed(self) -> float:
        """Seconds since this context was made."""
        return time.monotonic() - self.started_monotonic

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    def cancel(self, reason: str = "") -> None:
        """Cancel this context and every context derived from it."""
        self.cancel_token.cancel(reason)

    def check(self) -> None:
        """Raise :class:`Cancelled` or :class:`DeadlineExceeded` if work should stop."""
        if self.cancel_token.cancelled:
            raise Cancelled(self.cancel_token.reason)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineExceeded(f"deadline of context {self.name or self.span_id!r} passed")

    def lineage(self) -> Iterator[ExecutionContext]:
        """Yield this context, its parent, and so on up to the root."""
        ctx: ExecutionContext | None = self
        while ctx is not None:
            yield ctx
            ctx = ctx.parent

    def __repr__(self) -> str:
        return (
            f"<ExecutionContext {self.name or '-'} run={self.run_id} span={self.span_id} "
            f"depth={self.depth}>"
        )


def earliest(a: float | None, b: float | None) -> float | None:
    """The sooner of two optional times (or timeouts); None when both are None."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def parse_traceparent(header: str) -> tuple[str, str]:
    """Return ``(trace_id, parent_span_id)`` from a W3C ``traceparent`` header.

    Raises ValueError, saying what is wrong, for a malformed header.
    """
    parts = header.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        raise ValueError(
            f"traceparent {header!r} is malformed; expected "
            "'00-<32 hex trace id>-<16 hex span id>-<2 hex flags>'"
        )
    try:
        trace, span = int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        raise ValueError(f"traceparent {header!r} holds non-hex ids") from None
    if trace == 0 or span == 0:
        raise ValueError(f"traceparent {header!r} has an all-zero id, which W3C forbids")
    return parts[1].lower(), parts[2].lower()
