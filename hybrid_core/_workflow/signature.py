"""What a callable accepts, read once; and calling hooks with only what they ask for."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._execution.executor import Call

if TYPE_CHECKING:
    from .._execution.executor import Executor

__all__ = ["Signature", "call_hook", "is_async"]


class Signature:
    """What a callable accepts, read once when a step is built."""

    __slots__ = ("declared", "is_async", "names", "required")

    declared: frozenset[str]
    names: frozenset[str] | None
    required: frozenset[str]

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.is_async = is_async(fn)
        read = _plain_function(fn)
        if read is not None:
            self.declared, self.required, var_keyword = read
            self.names = None if var_keyword else self.declared
            return
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = None
        if params is None:
            # Unknown (some builtins): assume it takes anything and needs nothing.
            self.declared = frozenset()
            self.names = None
            self.required = frozenset()
            return
        keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        self.declared = frozenset(p.name for p in params if p.kind in keyword)
        self.required = frozenset(
            p.name for p in params if p.kind in keyword and p.default is p.empty
        )
        self.names = None if any(p.kind is p.VAR_KEYWORD for p in params) else self.declared

    def takes(self, name: str) -> bool:
        return self.names is None or name in self.names

    def declares(self, name: str) -> bool:
        """True when the callable names ``name`` as a parameter (``**kwargs`` does not count)."""
        return name in self.declared

    def pick(self, offered: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of ``offered`` that the callable accepts as keywords."""
        if self.names is None:
            return dict(offered)
        return {k: v for k, v in offered.items() if k in self.names}


# What makes inspect.signature() look past a function's own code.
_NOT_ITS_CODE = ("__signature__", "__wrapped__", "_partialmethod")


def _plain_function(fn: object) -> tuple[frozenset[str], frozenset[str], bool] | None:
    """``(keyword names, required ones, takes **kwargs)`` read from a plain function's
    code object, as inspect.signature() would find them without building a Signature of
    Parameter objects; None for anything else (a method, a partial, a wrapped function,
    a builtin, a class, an object with ``__call__``), which inspect reads instead."""
    if type(fn) is not types.FunctionType or any(k in fn.__dict__ for k in _NOT_ITS_CODE):
        return None
    code = fn.__code__
    positional, first = code.co_argcount, code.co_posonlyargcount
    names = code.co_varnames
    keyword_only = names[positional : positional + code.co_kwonlyargcount]
    defaults = len(fn.__defaults__ or ())
    given = fn.__kwdefaults__ or {}
    required = names[first : positional - defaults] + tuple(
        n for n in keyword_only if n not in given
    )
    declared = frozenset(names[first:positional] + keyword_only)
    return declared, frozenset(required), bool(code.co_flags & inspect.CO_VARKEYWORDS)


def is_async(fn: Callable[..., Any]) -> bool:
    """True when calling ``fn`` gives a coroutine: an async function, or an object whose
    ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - an object with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


async def call_hook(
    fn: Callable[..., Any],
    sig: Signature,
    first: Any,
    offered: Mapping[str, Any],
    *,
    executor: Executor | None = None,
) -> Any:
    """Call a compensate or undo hook with ``first`` and the keywords it declares.

    A sync hook of a blocking step runs through ``executor`` (in a thread).
    """
    kwargs = sig.pick(offered)
    if sig.is_async:
        return await fn(first, **kwargs)
    if executor is not None:
        return await executor.asubmit(Call(fn, (first,), kwargs))
    return fn(first, **kwargs)
