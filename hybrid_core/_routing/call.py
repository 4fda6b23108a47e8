"""One provider call: resources, concurrency slot, timeout, statistics, events.

:class:`Caller` is the half of the router that calls a provider it is given, once; the
other half (:class:`~hybrid_core._routing.router.Router`) decides which provider, and retries.
This is the hot path of every routed request, so it keeps the router's own attributes
(``Router`` mixes it in) rather than going through a helper object per call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from .._core.context import ExecutionContext, earliest
from .._core.records import Engine, Provider, ProviderKind
from .._core.registry import Registry
from .._core.resources import Pool, ResourcePools
from .._execution.executor import Call, Executor
from .._telemetry.bus import TelemetryBus
from ..exceptions import DeadlineExceeded, EngineError, EngineTimeout, PayloadError
from .policy import RoutingPolicy, settle
from .strategies import CLOSED, HALF_OPEN, ProviderStats

__all__ = ["Caller", "WorkflowRunner", "bind_payload"]

WorkflowRunner = Callable[[Any, Mapping[str, Any], ExecutionContext], Awaitable[Any]]


class Caller:
    """Calls one provider once, and keeps every provider's live statistics.

    A mixin: the class using it sets the attributes declared here (``Router`` does in its
    ``__init__``).
    """

    registry: Registry
    telemetry: TelemetryBus
    resources: ResourcePools
    policy: RoutingPolicy
    _executor: Callable[[], Executor]
    _run_workflow: WorkflowRunner | None
    _stats: dict[str, ProviderStats]
    _limits: dict[str, Pool]

    # -- statistics -----------------------------------------------------------------------

    def stats(self, name: str) -> ProviderStats:
        """The live statistics of a provider (created on first use)."""
        found = self._stats.get(name)
        if found is None:
            provider = self.registry.get(name)
            limit = getattr(provider.target, "max_concurrency", None) if provider else None
            found = self._stats[name] = ProviderStats(limit, tau=self.policy.latency_tau)
        return found

    @property
    def all_stats(self) -> Mapping[str, ProviderStats]:
        return self._stats

    # -- calling --------------------------------------------------------------------------

    async def call(
        self,
        provider: Provider,
        payload: Any,
        context: ExecutionContext,
        timeout: float | None = None,
        capability: str | None = None,
        attempt: int = 1,
    ) -> Any:
        """Call one provider once: resources, concurrency slot, timeout, stats, events."""
        name = provider.name
        stats = self._stats.get(name) or self.stats(name)
        if stats.state == HALF_OPEN:
            stats.probing = True
        target = provider.target
        # An engine with nothing around its handler's coroutine (Engine.direct) skips
        # the checks below; so does its context, unless telemetry sees the call's span.
        direct = getattr(target, "direct", False)
        needs = _NO_NEEDS if direct else getattr(target, "resources", None) or _NO_NEEDS
        if needs:
            self.resources.check(needs, owner=f"{provider.kind} {name!r}")
        emit = self.telemetry.enabled
        # The call's own context (its span) is seen by telemetry and by a handler or workflow
        # that takes a context; for a handler that takes none, with telemetry off, nothing
        # could tell it from the caller's, whose deadline, cancellation and path it shares.
        if emit or getattr(target, "context_mode", None) != "none":
            ctx = context.child(name=name)
        else:
            ctx = context
        started = served = time.monotonic()
        stats.begin(started)
        error: BaseException | None = None
        try:
            if direct and timeout is None and ctx.deadline is None:
                if emit:
                    self._emit_start(ctx, provider, capability, attempt)
                return await target.handler(payload)
            if not needs and not getattr(target, "max_concurrency", None):
                # The common case: nothing to wait for, so no context manager around it.
                if emit:
                    self._emit_start(ctx, provider, capability, attempt)
                return await self._invoke(provider, payload, ctx, timeout, attempt)
            async with self._hold(needs, provider, ctx):
                served = time.monotonic()
                if emit:
                    self._emit_start(ctx, provider, capability, attempt)
                return await self._invoke(provider, payload, ctx, timeout, attempt)
        except BaseException as exc:
            error = exc
            raise
        finally:
            now = time.monotonic()
            stats.end(started)
            # Latency is service time: a wait for a slot or a resource is not the
            # provider's slowness (the strategies account for queueing separately). A bad
            # payload is the caller's fault: not held against the provider's health.
            # A call whose caller stopped waiting (the run was cancelled, or a parallel
            # step took a faster provider's answer) says nothing about the provider.
            cancelled = isinstance(error, asyncio.CancelledError)
            if error is None and stats.state == CLOSED:  # settle(...) of a success, inline
                stats.record(now - served, True, now)
            elif not cancelled:
                ok = error is None or isinstance(error, PayloadError)
                settle(self.policy, stats, now - served, ok, now)
            if emit:
                failed = error is not None and not cancelled
                outcome = {"error": f"{type(error).__name__}: {error}"} if failed else {}
                self.telemetry.emit(
                    "engine.call.stop",
                    ctx,
                    provider=name,
                    duration=now - started,
                    capability=capability,
                    attempt=attempt,
                    outcome="cancelled" if cancelled else "error" if failed else "ok",
                    **outcome,
                )

    def _emit_start(
        self, ctx: ExecutionContext, provider: Provider, capability: str | None, attempt: int
    ) -> None:
        self.telemetry.emit(
            "engine.call.start",
            ctx,
            provider=provider.name,
            capability=capability,
            attempt=attempt,
            kind=provider.kind.value,
        )

    def _hold(
        self, needs: Mapping[str, float], provider: Provider, ctx: ExecutionContext
    ) -> AbstractAsyncContextManager[None]:
        """The resources and concurrency slot a call holds (nothing to hold: no work)."""
        limit = self._limit(provider)
        if not needs and limit is None:
            return _NOTHING
        return self.resources.hold(needs, extra=limit, on_wait=self._wait_reporter(ctx, provider))

    def _limit(self, provider: Provider) -> Pool | None:
        limit = getattr(provider.target, "max_concurrency", None)
        if not limit:
            return None
        pool = self._limits.get(provider.name)
        if pool is None:
            pool = self._limits[provider.name] = Pool(f"~concurrency:{provider.name}", limit)
        return pool

    def _wait_reporter(
        self, ctx: ExecutionContext, provider: Provider
    ) -> Callable[[str, float, float], None] | None:
        if not self.telemetry.enabled:
            return None

        def report(pool: str, amount: float, seconds: float) -> None:
            self.telemetry.emit(
                "resource.wait",
                ctx,
                provider=provider.name,
                pool=pool,
                amount=amount,
                duration=seconds,
            )

        return report

    def _invoke(
        self,
        provider: Provider,
        payload: Any,
        ctx: ExecutionContext,
        timeout: float | None,
        attempt: int = 1,
    ) -> Awaitable[Any]:
        """The provider's work, as an awaitable: bare when no time limit applies."""
        limit = earliest(timeout, getattr(provider.target, "timeout", None))
        left = ctx.remaining()
        bounded_by_deadline = left is not None and (limit is None or left < limit)
        if bounded_by_deadline:
            limit = left
        work = self._start(provider, payload, ctx, attempt)
        if limit is None:
            return work
        return self._bounded(work, provider, limit, bounded_by_deadline)

    async def _bounded(
        self, work: Awaitable[Any], provider: Provider, limit: float, by_deadline: bool
    ) -> Any:
        try:
            return await asyncio.wait_for(work, limit)
        except asyncio.TimeoutError:
            if by_deadline:
                raise DeadlineExceeded(
                    f"the deadline passed while {provider.name!r} was working"
                ) from None
            raise EngineTimeout(provider.name, limit) from None

    def _start(
        self, provider: Provider, payload: Any, ctx: ExecutionContext, attempt: int = 1
    ) -> Awaitable[Any]:
        if provider.kind is ProviderKind.ENGINE:
            engine: Engine = provider.target
            if engine.is_async:  # the handler's own coroutine: no frame of ours around it
                mode = engine.context_mode
                if mode == "positional":
                    return engine.handler(payload, ctx)  # type: ignore[no-any-return]
                if mode == "keyword":
                    return engine.handler(payload, context=ctx)  # type: ignore[no-any-return]
                return engine.handler(payload)  # type: ignore[no-any-return]
            return self._engine_call(engine, payload, ctx, attempt)
        if self._run_workflow is None:
            raise EngineError(provider.name, "workflows cannot be run by this router")
        inputs = bind_payload(provider.name, getattr(provider.target, "inputs", ()), payload)
        return self._run_workflow(provider.target, inputs, ctx)

    async def _engine_call(
        self, engine: Engine, payload: Any, ctx: ExecutionContext, attempt: int = 1
    ) -> Any:
        handler, mode = engine.handler, engine.context_mode
        args: tuple[Any, ...] = (payload, ctx) if mode == "positional" else (payload,)
        kwargs = {"context": ctx} if mode == "keyword" else {}
        if engine.blocking:
            where = "process" if engine.process else "thread"
            key = engine.affinity_key
            affinity = payload.get(key) if key and isinstance(payload, Mapping) else None
            key = f"{ctx.run_id}/{ctx.path}/{engine.name}#{attempt}"
            call = Call(handler, args, kwargs, where=where, affinity=_hashable(affinity),  # type: ignore[arg-type]
                        key=key, resources=engine.resources or {})  # fmt: skip
            result = await self._executor().asubmit(call)
        else:
            result = handler(*args, **kwargs)
            # Nothing could interrupt it on the loop; a deadline it overran is not ignored.
            if ctx.deadline is not None and time.monotonic() > ctx.deadline:
                raise DeadlineExceeded(
                    f"the deadline passed while {engine.name!r} was working (a sync handler "
                    "on the event loop cannot be stopped; set blocking=True to run it in a "
                    "thread)"
                )
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise EngineError(
                engine.name,
                "its handler is a plain function that returned an awaitable; declare the "
                "handler with 'async def' so it is awaited on the event loop",
            )
        return result


_NOTHING = nullcontext()
_NO_NEEDS: Mapping[str, float] = {}


def bind_payload(name: str, inputs: Sequence[str], payload: Any) -> dict[str, Any]:
    """The inputs a workflow provider gets from a request's payload.

    One input: the payload itself. Several: the payload must be a mapping holding them.
    None: nothing (the payload is ignored).
    """
    inputs = tuple(inputs)
    if not inputs:
        return {}
    if len(inputs) == 1:
        return {inputs[0]: payload}
    if not isinstance(payload, Mapping):
        raise EngineError(
            name,
            f"this workflow takes inputs {', '.join(inputs)}; send a mapping with those keys "
            f"as the payload, not {type(payload).__name__}",
        )
    missing = [i for i in inputs if i not in payload]
    if missing:
        raise EngineError(name, f"the payload lacks input(s) {', '.join(missing)}")
    return {i: payload[i] for i in inputs}


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return None
    return value
