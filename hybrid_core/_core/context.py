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
from typing import Any

import attrs

from ..exceptions import Cancelled, DeadlineExceeded
from .util import new_rng, open_twin

__all__ = ["CancelToken", "ExecutionContext", "SharedState"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
# Ids need uniqueness, not secrecy: a generator's getrandbits, made on first use.
_draw: Callable[[int], int] | None = None


def _bits(bits: int) -> int:
    global _draw  # noqa: PLW0603 - one generator per process, made lazily
    if _draw is None:
        _draw = new_rng().getrandbits
    value = _draw(bits)
    while not value:  # W3C trace context forbids all-zero ids
        value = _draw(bits)
    return value


def new_trace_id() -> str:
    """Return a random W3C trace id (32 lowercase hex digits)."""
    return "%032x" % _bits(128)  # noqa: UP031 - %-formatting is the fastest here


def new_span_id() -> str:
    """Return a random W3C span id (16 lowercase hex digits)."""
    return "%016x" % _bits(64)  # noqa: UP031 - %-formatting is the fastest here


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


# One lock for the rare operations that link tokens or register callbacks; asking whether
# a token is cancelled never takes it.
_LINKS = threading.Lock()


class CancelToken:
    """Cancellation that flows downward: cancelling a token cancels its children.

    Callbacks registered with :meth:`on_cancel` run once, in the thread that cancels.

    A child costs one small object: it keeps its parent and reads its ancestors' flags when
    asked whether it is cancelled. Only a token that has callbacks (or a descendant that
    has) is linked into its parent, so that a cancellation above reaches the callbacks;
    the link is weak, so a long-lived parent (a host's context reused for many calls)
    keeps no child alive.
    """

    __slots__ = ("__weakref__", "_callbacks", "_cancelled", "_children", "_linked", "_parent",
                 "_reason")  # fmt: skip

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._parent = parent
        self._cancelled = False
        self._linked = False
        self._reason = ""
        self._children: weakref.WeakSet[CancelToken] | None = None
        self._callbacks: list[Callable[[str], None]] | None = None

    @property
    def cancelled(self) -> bool:
        """Whether this token, or one of its ancestors, was cancelled."""
        token: CancelToken | None = self
        while token is not None:
            if token._cancelled:
                return True
            token = token._parent
        return False

    @property
    def reason(self) -> str:
        """The reason given to the cancellation that reached this token ("" if none did)."""
        token: CancelToken | None = self
        while token is not None:
            if token._cancelled:
                return token._reason
            token = token._parent
        return ""

    def child(self) -> CancelToken:
        """Return a token that is cancelled whenever this one is."""
        return CancelToken(self)

    def on_cancel(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(reason)`` on cancellation (now, if already cancelled).

        Returns a function that removes the callback again.
        """
        with _LINKS:
            already = self.cancelled
            if not already:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                late = self._link()
        if already:
            callback(self.reason)
            return lambda: None
        if late is not None:
            # An ancestor was cancelled before its cascade could know of this branch: the
            # branch fires itself, this callback included.
            node, reason = late
            node._fire(reason)
            return lambda: None
        return lambda: self._discard(callback)

    def _link(self) -> tuple[CancelToken, str] | None:
        """Link this token up to the root (or the first linked ancestor); under _LINKS.

        Returns the topmost token linked in and the reason when an ancestor turns out to be
        cancelled already, so that the caller fires the branch itself.
        """
        child, parent = self, self._parent
        while parent is not None and not child._linked:
            if parent._cancelled:
                return child, parent._reason
            if parent._children is None:
                parent._children = weakref.WeakSet()
            parent._children.add(child)
            child._linked = True
            child, parent = parent, parent._parent
        return None

    def _discard(self, callback: Callable[[str], None]) -> None:
        with _LINKS:
            if self._callbacks is not None and callback in self._callbacks:
                self._callbacks.remove(callback)

    def cancel(self, reason: str = "") -> None:
        """Cancel this token and every child; later calls do nothing."""
        if not self.cancelled:
            self._fire(reason)

    def _fire(self, reason: str) -> None:
        with _LINKS:
            if self._cancelled:
                return
            self._cancelled = True
            self._reason = reason
            children = list(self._children) if self._children else []
            callbacks = self._callbacks or []
            self._children = self._callbacks = None
        for callback in callbacks:
            callback(reason)
        for token in children:
            token._fire(reason)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled!r})"


def _metadata(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value)) if value else _EMPTY


_FIELDS = ("_run_id", "_trace_id", "parent", "depth", "state", "deadline", "_token",
           "metadata", "started_at", "started_monotonic", "name", "path")  # fmt: skip


class ExecutionContext:
    """Who is running what, for how long, on whose behalf; immutable, children are cheap.

    Build a root with :meth:`root`, nest with :meth:`child`. ``deadline`` is a
    ``time.monotonic()`` instant or ``None``. ``state`` is shared by the whole tree.
    ``path`` is the structural path of the step the context was made for
    (``files[3]/parse``; empty outside a step), inherited by the contexts below it.

    A context is made for every step and every provider call, so making one is kept to
    a few attribute stores: a child's span id is drawn the first time it is read, and its
    cancel token is made the first time it is asked for (until then, whether it is
    cancelled is read from its ancestors' tokens). A root's trace id and span id (its run
    id too, unless given) are drawn the first time they are read, or a child is made.
    """

    __slots__ = (*_FIELDS, "_span_id")

    _run_id: str | None
    _trace_id: str | None
    parent: ExecutionContext | None
    depth: int
    state: SharedState
    deadline: float | None
    _token: CancelToken | None
    metadata: Mapping[str, str]
    started_at: float
    started_monotonic: float
    name: str
    path: str
    _span_id: str | None

    def __init__(
        self,
        *,
        run_id: str,
        trace_id: str,
        span_id: str | None,
        parent: ExecutionContext | None,
        depth: int,
        state: SharedState,
        deadline: float | None,
        cancel_token: CancelToken,
        metadata: Mapping[str, str],
        started_at: float,
        started_monotonic: float,
        name: str = "",
        path: str = "",
    ) -> None:
        values = (run_id, trace_id, parent, depth, state, deadline, cancel_token, metadata,
                  started_at, started_monotonic, name, path)  # fmt: skip
        for field, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(self, field, value)
        object.__setattr__(self, "_span_id", span_id)

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError

    @property
    def cancel_token(self) -> CancelToken:
        """This context's cancellation: a child of its parent's token, made on first use."""
        token = self._token
        if token is None:
            parent = self.parent.cancel_token if self.parent is not None else None
            with _LINKS:  # two threads asking at once get the same token
                token = self._token
                if token is None:
                    token = CancelToken(parent)
                    object.__setattr__(self, "_token", token)
        return token

    @property
    def run_id(self) -> str:
        """The run this context belongs to; a root's own span id unless it was given one."""
        run_id = self._run_id
        if run_id is None:
            run_id = self.span_id
            object.__setattr__(self, "_run_id", run_id)
        return run_id

    @property
    def trace_id(self) -> str:
        """The W3C trace id (32 hex digits) shared by every context of the tree."""
        trace_id = self._trace_id
        if trace_id is None:
            with _LINKS:  # two threads reading a root's first time get the same id
                trace_id = self._trace_id
                if trace_id is None:
                    trace_id = new_trace_id()
                    object.__setattr__(self, "_trace_id", trace_id)
        return trace_id

    @property
    def span_id(self) -> str:
        """This context's W3C span id (16 hex digits), drawn on first use."""
        span = self._span_id
        if span is None:
            with _LINKS:  # two threads reading it the first time get the same id
                span = self._span_id
                if span is None:
                    span = new_span_id()
                    object.__setattr__(self, "_span_id", span)
        return span

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
        # A root is made for every request a host sends without a context: its ids are
        # drawn and its cancel token made when first asked for (as a child's are).
        trace_id: str | None = None
        md = metadata
        if traceparent:
            trace_id, parent_span = parse_traceparent(traceparent)
            if parent_span:
                md = {"remote_parent_span_id": parent_span, **(metadata or {})}
        if not isinstance(state, SharedState):
            state = SharedState(state)
        ctx = _new(_Open)
        ctx._run_id = run_id or None
        ctx._trace_id = trace_id
        ctx._span_id = None
        ctx.parent = None
        ctx.depth = 0
        ctx.state = state
        ctx.deadline = deadline if timeout is None else earliest(deadline, now + timeout)
        ctx._token = None
        ctx.metadata = _metadata(md)
        ctx.started_at = time.time()
        ctx.started_monotonic = now
        ctx.name = name
        ctx.path = ""
        ctx.__class__ = ExecutionContext
        return ctx  # type: ignore[no-any-return]

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
        # Built as its open twin and then frozen: plain stores, a fraction of __init__'s cost.
        ctx = _new(_Open)
        ctx._run_id = run_id or self._run_id or self.run_id  # the slot: drawn already, mostly
        ctx._trace_id = self._trace_id or self.trace_id
        ctx._span_id = None
        ctx.parent = self
        ctx.depth = self.depth + 1
        ctx.state = self.state
        ctx.deadline = deadline
        ctx._token = None
        ctx.metadata = md
        ctx.started_at = time.time()
        ctx.started_monotonic = now
        ctx.name = name
        ctx.path = self.path if path is None else path
        ctx.__class__ = ExecutionContext
        return ctx  # type: ignore[no-any-return]

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
        return self._cancelled_token() is not None

    def _cancelled_token(self) -> CancelToken | None:
        """The nearest cancelled token of this context or an ancestor, if any.

        The nearest context that has a token decides: a token's chain of parents holds the
        tokens of every context above it (and whatever a root's token was made under).
        """
        ctx: ExecutionContext | None = self
        while ctx is not None:
            token: CancelToken | None = ctx._token
            if token is not None:
                while token is not None:
                    if token._cancelled:
                        return token
                    token = token._parent
                return None
            ctx = ctx.parent
        return None

    def cancel(self, reason: str = "") -> None:
        """Cancel this context and every context derived from it."""
        self.cancel_token.cancel(reason)

    def check(self) -> None:
        """Raise :class:`Cancelled` or :class:`DeadlineExceeded` if work should stop."""
        token = self._cancelled_token()
        if token is not None:
            raise Cancelled(token._reason)
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


_Open = open_twin(ExecutionContext)
_new = object.__new__


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
