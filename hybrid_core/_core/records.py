"""Value records shared by every layer: engines, providers and their validation."""

from __future__ import annotations

import enum
import inspect
import math
import pickle
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..exceptions import CapabilityNameError

__all__ = [
    "Engine",
    "Provider",
    "ProviderKind",
    "call_problem",
    "check_capability_name",
    "engine_problem",
    "process_problem",
]

_CAPABILITY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")

Handler = Callable[..., Any]


def check_capability_name(name: object, *, owner: str = "") -> str:
    """Return ``name`` if it is a dotted identifier, else raise CapabilityNameError."""
    if not isinstance(name, str) or not _CAPABILITY.match(name):
        raise CapabilityNameError(name, owner=owner)
    return name


def check_provider_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{what} name {name!r} is not valid; use letters, digits, '_', '-' and '.', "
            "starting with a letter or '_', e.g. 'acme.upper'"
        )
    return name


def freeze_capabilities(value: object, *, owner: str) -> Mapping[str, int]:
    """Check a capability -> priority mapping and return a read-only copy."""
    if isinstance(value, str) or not isinstance(value, Mapping):
        raise TypeError(
            f"{owner}: capabilities must be a mapping of capability name to priority, "
            f"e.g. {{'text.upper': 10}}, not {type(value).__name__}"
        )
    for cap, prio in value.items():
        check_capability_name(cap, owner=owner)
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise TypeError(f"{owner}: priority of capability {cap!r} must be an int, not {prio!r}")
        if prio < 0:
            raise ValueError(
                f"{owner}: priority of capability {cap!r} is {prio}; priorities are "
                "0 or more (higher is preferred)"
            )
    return FrozenDict(value)


def _resources(value: object, *, owner: str) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{owner}: resources must be a mapping of pool name to amount")
    for pool, amount in value.items():
        if not isinstance(pool, str) or not pool:
            raise TypeError(f"{owner}: resource pool names must be non-empty strings")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise TypeError(f"{owner}: resource {pool!r} must be a number, not {amount!r}")
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"{owner}: resource {pool!r} must be finite and >= 0, not {amount}")
    return FrozenDict(value)


def context_mode(handler: Handler) -> str:
    """How ``handler`` wants the context: ``"positional"``, ``"keyword"`` or ``"none"``.

    A parameter named ``context`` gets it (by keyword when keyword-only); otherwise a
    second *required* positional parameter gets it. ``def h(payload, options=None)``
    does not: an optional parameter is never filled with the context by position.
    """
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):
        return "positional"
    params = list(sig.parameters.values())
    named = sig.parameters.get("context")
    if named is not None:
        return "keyword" if named.kind is named.KEYWORD_ONLY else "positional"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return "positional" if len(required) >= 2 else "none"


_CORE_CALLS = {
    "none": "handler(payload)",
    "positional": "handler(payload, context)",
    "keyword": "handler(payload, context=context)",
}


def _signature(handler: Handler) -> inspect.Signature | None:
    try:
        return inspect.signature(handler)
    except (TypeError, ValueError):  # some builtins have none to read: trust them
        return None


def _handler_name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__qualname__


def call_problem(name: str, handler: Handler) -> str | None:
    """Why the core cannot call ``handler`` the way it calls an engine's, or None.

    The core calls ``handler(payload)``, ``handler(payload, context)`` or
    ``handler(payload, context=context)`` (see :func:`context_mode`); a handler whose
    signature cannot take that call (no parameter at all, a third required one, a
    required keyword-only one) would fail on every call, so it is refused when loaded.
    """
    sig = _signature(handler)
    if sig is None:
        return None
    mode = context_mode(handler)
    args: tuple[object, ...] = (None, None) if mode == "positional" else (None,)
    kwargs = {"context": None} if mode == "keyword" else {}
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        return (
            f"engine {name!r}: its handler {_handler_name(handler)}{sig} cannot be called "
            f"the way the core calls it, {_CORE_CALLS[mode]} ({exc}); give it one "
            "parameter for the payload, plus one named 'context' if it needs the context"
        )
    return None


def process_problem(name: str, handler: Handler) -> str | None:
    """Why a ``process=True`` handler cannot reach a worker process, or None.

    A worker finds the handler by its module and name (it is pickled by reference), so a
    lambda, a function defined inside another, or a bound method of an object that does
    not pickle cannot get there.
    """
    qualname = _handler_name(handler)
    try:
        pickle.dumps(handler, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - any failure means it cannot travel
        where = f"{getattr(handler, '__module__', None) or '?'}.{qualname}"
        if "<lambda>" in qualname or "<locals>" in qualname:
            where += " (a lambda, or a function defined inside another)"
        return (
            f"engine {name!r}: process=True runs the handler in a worker process, which "
            f"imports it by name, but {where} cannot be pickled "
            f"({type(exc).__name__}: {exc}); define the handler with 'def' at the top "
            "level of an importable module (not in a function, not a lambda, not a "
            "method of a local object), or drop process=True"
        )
    return None


class FrozenDict(dict[str, Any]):
    """A read-only dict that still pickles (a mappingproxy does not)."""

    __slots__ = ()

    def _readonly(self, *args: object, **kwargs: object) -> None:
        raise TypeError("this mapping is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def _optional_callable(owner: str, what: str, value: object) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{owner}: {what} must be callable or None, not {value!r}")


@attrs.frozen(kw_only=True, repr=False, eq=False)
class Engine:
    """A unit of work that serves named capabilities.

    ``handler(payload, context)`` or ``handler(payload)`` does the work; it may be sync or
    async; it gets the context when it has a parameter named ``context`` or a second
    required positional parameter. ``capabilities`` maps each capability name to a
    priority (0 or more, higher is preferred). Set ``blocking=True`` for a sync handler
    that must run off the event loop (blocking I/O, code that releases the GIL); the
    executor runs it in a thread. Set ``process=True`` for CPU-bound pure Python: each
    call runs in a worker process, so the handler must be importable by name, the payload
    and result picklable, and the handler cannot take the context. ``affinity_key`` names
    a payload key (e.g. ``"path"``): calls whose payloads hold the same value there go to
    the same worker process, so a worker-side cache (a file parsed once) serves them all.
    ``resources`` says what one call needs from the system's resource pools; ``timeout``
    bounds one call in seconds (a sync handler with a timeout runs in a thread, as with
    ``blocking=True``: on the event loop nothing could stop waiting for it).
    ``version`` left as None becomes the version of the distribution whose plugin
    registers the engine (an engine a host registers itself keeps None).
    ``start``/``stop`` (sync or async, no arguments) run when the system starts and closes;
    ``health_check`` (sync or async, no arguments) returns truthy when the engine is healthy.
    """

    name: str
    capabilities: Mapping[str, int]
    handler: Handler
    version: str | None = None
    description: str = ""
    max_concurrency: int | None = None
    resources: Mapping[str, float] = attrs.field(factory=dict)
    timeout: float | None = None
    blocking: bool = False
    process: bool = False
    affinity_key: str | None = None
    health_check: Callable[[], Any] | None = None
    start: Callable[[], Any] | None = None
    stop: Callable[[], Any] | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    context_mode: str = attrs.field(init=False)
    is_async: bool = attrs.field(init=False)
    # True when a call is the handler's own coroutine and nothing around it: async, no
    # context, resources, concurrency limit or timeout (the router's shortest path).
    direct: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        name = check_provider_name(self.name, "engine")
        owner = f"engine {name!r}"
        caps = freeze_capabilities(self.capabilities, owner=owner)
        if not caps:
            raise ValueError(
                f"{owner} serves no capability; give capabilities={{'some.capability': 10}}"
            )
        if not callable(self.handler):
            raise TypeError(f"{owner}: handler must be callable, not {self.handler!r}")
        if self.version is not None and not isinstance(self.version, str):
            raise TypeError(f"{owner}: version must be a string or None, not {self.version!r}")
        mc = self.max_concurrency
        if mc is not None and (isinstance(mc, bool) or not isinstance(mc, int) or mc < 1):
            raise ValueError(f"{owner}: max_concurrency must be an int >= 1 or None, not {mc!r}")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
            raise ValueError(f"{owner}: timeout must be a number of seconds > 0, not {t!r}")
        for what in ("health_check", "start", "stop"):
            _optional_callable(owner, what, getattr(self, what))
        if not isinstance(self.metadata, Mapping):
            raise TypeError(f"{owner}: metadata must be a mapping")
        object.__setattr__(self, "capabilities", caps)
        object.__setattr__(self, "resources", _resources(self.resources, owner=owner))
        object.__setattr__(self, "metadata", FrozenDict(self.metadata))
        object.__setattr__(self, "process", bool(self.process))
        # A sync handler on the event loop cannot be interrupted, so its timeout could not
        # be kept: with a timeout it runs in a thread, where the wait for it can end.
        sync_with_timeout = self.timeout is not None and not inspect.iscoroutinefunction(
            self.handler
        )
        object.__setattr__(
            self, "blocking", bool(self.blocking) or self.process or sync_with_timeout
        )
        mode = context_mode(self.handler)
        if self.process and mode != "none":
            raise ValueError(
                f"{owner}: a process=True handler runs in another process and cannot take "
                "the context; drop its 'context' parameter"
            )
        if self.process and inspect.iscoroutinefunction(self.handler):
            raise ValueError(f"{owner}: process=True needs a plain (sync) handler")
        object.__setattr__(self, "context_mode", mode)
        is_async = inspect.iscoroutinefunction(self.handler)
        object.__setattr__(self, "is_async", is_async)
        plain = mode == "none" and not self.resources and not mc and self.timeout is None
        object.__setattr__(self, "direct", is_async and plain)
        if self.affinity_key is not None and not isinstance(self.affinity_key, str):
            raise TypeError(f"{owner}: affinity_key must be a payload key (a str) or None")

    @property
    def accepts_context(self) -> bool:
        """True when the handler is given the execution context."""
        return self.context_mode != "none"

    def __repr__(self) -> str:
        return f"Engine(name={self.name!r}, capabilities={dict(self.capabilities)!r})"


def engine_problem(engine: Engine) -> str | None:
    """What makes ``engine`` fail on every call, found before any call, or None.

    A plugin whose engine has such a problem fails to load (see :func:`call_problem` and
    :func:`process_problem`); ``EngineContract`` asserts the same.
    """
    problem = call_problem(engine.name, engine.handler)
    if problem is None and engine.process:
        problem = process_problem(engine.name, engine.handler)
    return problem


class ProviderKind(str, enum.Enum):
    """What a provider is: an engine, a workflow, or a hybrid of both."""

    ENGINE = "engine"
    WORKFLOW = "workflow"
    HYBRID = "hybrid"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(repr=False, eq=False)
class Provider:
    """A registry entry: something named that serves capabilities, and where it came from.

    ``target`` is the engine or workflow object; ``origin`` names the plugin (or host code)
    that registered it; ``seq`` is its registration order, which breaks priority ties.
    """

    kind: ProviderKind
    name: str
    capabilities: Mapping[str, int]
    target: Any
    origin: str
    seq: int = 0
    # Whether a call of the target could tell the context it is given from its caller's,
    # telemetry aside: a handler that takes a context, a workflow, a blocking engine (the
    # executor's call key holds the context's path). See Router.sees_context.
    sees_context: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        target = self.target
        sees = getattr(target, "context_mode", None) != "none"
        object.__setattr__(self, "sees_context", sees or getattr(target, "blocking", False) is True)

    def priority(self, capability: str) -> int:
        """The priority this provider declared for ``capability``."""
        return self.capabilities[capability]

    def __repr__(self) -> str:
        return f"<Provider {self.kind.value} {self.name!r} from {self.origin!r}>"
