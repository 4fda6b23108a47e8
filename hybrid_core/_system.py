"""The ``Hybrid`` facade: plugins, registry, executor, strategies and telemetry in one object.

A host holds one or several of these; two systems share no state. Building a system does
nothing but check its configuration; :meth:`Hybrid.astart` (or ``async with``) loads the
plugins, registers what they provide, starts engines and runs the startup hooks, exactly
once. :meth:`Hybrid.aclose` undoes all of it, exactly once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ._bridge.steps import WorkflowProvider, needs
from ._config.compose import compose_mapping, join_key
from ._config.load import Config, RunsConfig, config_from_composed, load_config
from ._core.context import ExecutionContext
from ._core.records import Engine, Provider, ProviderKind
from ._core.registry import Registry
from ._core.resources import ResourcePools
from ._core.util import close_matches
from ._execution.executor import Executor
from ._execution.worker_main import check_not_importing_main
from ._plugins.assembly import Assembly, Unresolved, workflow_entry
from ._plugins.manager import PluginManager, Selection
from ._routing.router import Decision, Router, RoutingPolicy
from ._routing.strategies import RoutingStrategy
from ._telemetry.bus import Sink, TelemetryBus
from ._workflow import RunResult, Workflow, aresume_workflow, arun_workflow
from .exceptions import (
    DefinitionChangedError,
    JournalError,
    SystemStateError,
    UnknownStrategyError,
)

if TYPE_CHECKING:
    from ._bridge.capacity import ExecutionPlan
    from ._journal.codec import Codec
    from ._journal.store import Journal
    from ._workflow.durable import Durable

__all__ = ["Hybrid"]

T = TypeVar("T")

_NEW, _STARTING, _RUNNING, _CLOSED = "new", "starting", "running", "closed"


def new_run_id() -> str:
    """A run id: sortable by time (UTC), then random (``20261202T021503-3f9a1c2b``)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + os.urandom(4).hex()


def _journal_from(
    journal: Journal | str | os.PathLike[str] | bool | None, config: Config
) -> Journal | None:
    """The system's journal: the argument, else the configuration's ``[runs] path``."""
    if journal is False:
        return None
    from ._journal.store import Journal  # sqlite3 loads when a journal is asked for

    if isinstance(journal, Journal):
        return journal
    runs = config.runs
    if journal is None or journal is True:
        if not runs.enabled or runs.path is None:
            return None
        base = (
            os.path.dirname(config.source)
            if config.source and os.path.isfile(config.source)
            else "."
        )
        journal = os.path.join(base, os.path.expanduser(runs.path))
    if not isinstance(journal, (str, os.PathLike)):
        raise TypeError(
            f"journal must be a Journal, a path, False or None, not {type(journal).__name__}"
        )
    return journal_at(journal, runs)


def journal_at(path: str | os.PathLike[str], runs: RunsConfig) -> Journal:
    """A journal at ``path`` with the options of a ``[runs]`` table."""
    from ._journal.store import Journal

    return Journal(
        path,
        durability=runs.durability,
        codec=runs.codec,
        lease=runs.lease,
        busy_timeout=runs.busy_timeout,
        keep=runs.keep,
        keep_days=runs.keep_days,
    )


def _resolve_config(
    config: Config | Mapping[str, Any] | str | os.PathLike[str] | None, profile: str | None
) -> Config:
    if config is None:
        config = {}
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return config_from_composed(compose_mapping(config, profile=profile))
    if isinstance(config, (str, os.PathLike)):
        return load_config(config, profile=profile)
    raise TypeError(
        f"config must be a Config, a mapping, a path or None, not {type(config).__name__}"
    )


LOOP_THREADS_GRACE = 5.0
"""Seconds closing a private loop waits for its default executor's threads."""


def _private_loop() -> tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]:
    """A new loop whose default executor (to_thread, getaddrinfo) is one we can join."""
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(thread_name_prefix="hybrid-loop")
    loop.set_default_executor(pool)
    return loop, pool


def _finish_loop(loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor) -> None:
    """Close a private loop as asyncio.run closes its own: async generators finished, and
    the default executor's threads joined, so none outlives it. A thread still busy after
    :data:`LOOP_THREADS_GRACE` seconds (a call that never returns) is left, not waited for."""
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    joiner = threading.Thread(target=pool.shutdown, name="hybrid-join", daemon=True)
    joiner.start()
    joiner.join(LOOP_THREADS_GRACE)


class Hybrid(Assembly):
    """The system a host embeds.

    ``config`` is a :class:`Config`, a mapping shaped like ``hybrid.toml``, a path to a
    TOML file, or None. ``plugins`` are plugin objects (modules or instances with
    ``@hookimpl`` functions) registered before any entry point. ``entry_points=False``
    skips the entry-point scan altogether (tests, hosts that pick their plugins).
    ``strict`` (default: the config's ``[plugins] strict``) turns any plugin failure into
    a :class:`PluginError` at start. ``only``/``disable`` override the config's
    selection; ``env`` (default ``os.environ``) is where ``HYBRID_CORE_PLUGINS`` is read.
    ``sinks`` are attached in addition to those the configuration asks for.
    ``resources`` (pool sizes) and ``routing`` (a :class:`RoutingPolicy`) override the
    configuration's ``[resources]`` and ``[routing]``. ``profile`` picks a
    ``[profile.NAME]`` overlay of a file or mapping configuration. ``journal`` (a
    :class:`Journal` or a path; default: the configuration's ``[runs] path``, if any)
    makes every run durable: see :meth:`arun` and :meth:`aresume`; ``False`` turns it off.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        plugins: Sequence[object] = (),
        entry_points: bool = True,
        strict: bool | None = None,
        only: Sequence[str] | None = None,
        disable: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        sinks: Sequence[Sink] = (),
        resources: Mapping[str, float] | None = None,
        routing: RoutingPolicy | None = None,
        profile: str | None = None,
        journal: Journal | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.config = _resolve_config(config, profile)
        self.journal = _journal_from(journal, self.config)
        self.run_meta: dict[str, Any] = {}
        pc = self.config.plugins
        self.strict = pc.strict if strict is None else strict
        self._selection = Selection.resolve(
            pc.only if only is None else only,
            pc.disable if disable is None else disable,
            os.environ if env is None else env,
        )
        self._explicit = tuple(plugins)
        self._entry_points = entry_points
        self._extra_sinks = tuple(sinks)
        self.registry = Registry()
        self.telemetry = TelemetryBus()
        self.strategies: dict[str, RoutingStrategy] = {}
        self.executors: dict[str, Executor] = {}
        self.codecs: dict[str, Codec] = {}
        self.problems: list[str] = []
        self.unresolved: list[Unresolved] = []
        self._fatal = []
        self.resources = ResourcePools(self.config.resources if resources is None else resources)
        self._routing = self.config.routing if routing is None else routing
        self._router: Router | None = None
        self._manager = PluginManager()
        self._contrib = {}
        self._noted = set()
        self._started_engines: list[Engine] = []
        self._declared = {}
        self._state = _NEW
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pool: ThreadPoolExecutor | None = None
        self._loop_lock = threading.Lock()

    # -- what the host reads --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._state == _RUNNING

    @property
    def executor(self) -> Executor:
        """The executor that runs blocking work, chosen by ``[executor] name``."""
        self._require_running()
        return self.executors.get(self.config.executor.name) or self.executors["local"]

    def _require_running(self) -> None:
        if self._state != _RUNNING:
            raise SystemStateError(
                f"the system is {self._state}; use 'async with Hybrid(...) as system' "
                "or call 'await system.astart()' first"
            )

    # -- lifecycle ------------------------------------------------------------------------

    async def astart(self) -> Hybrid:
        """Load plugins, register what they give, start engines, run startup hooks."""
        async with self._lock:
            if self._state == _RUNNING:
                return self
            if self._state != _NEW:
                raise SystemStateError(
                    f"a {self._state} system cannot start again; build a new one"
                )
            check_not_importing_main()
            self._state = _STARTING
            try:
                self._load_plugins()
                for record in self._manager.loaded():
                    self._absorb(record)
                self._note_load_failures()
                self._attach_sinks()
                self._check_executor()
                self._check_codec()
                self._make_router()
                self._declare_workflows()
                self._check_routed_capabilities()
                self._check_strategy_tables()
                self._raise_config_problems()
                await self._start_executor()
                await self._start_engines()
                self._run_startup_hooks()
                self._report_failures()
                if self.strict:
                    self._raise_if_failed()
            except BaseException:
                await self._close()
                self._state = _CLOSED
                raise
            self._state = _RUNNING
            return self

    async def aclose(self) -> None:
        """Run shutdown hooks, stop engines, close executors and sinks; once only."""
        async with self._lock:
            if self._state in (_RUNNING, _STARTING):
                await self._close()
            self._state = _CLOSED
            if self.journal is not None:
                self.journal.close()
        self._close_private_loop()

    def _close_private_loop(self) -> None:
        """Close the loop a sync twin called inside a running loop made, unless it runs
        this very call (then :meth:`close` closes it once it returns)."""
        with self._loop_lock:
            loop = self._loop
            if loop is None or loop.is_running():
                return
            pool, self._loop, self._loop_pool = self._loop_pool, None, None
        assert pool is not None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            _finish_loop(loop, pool)
            return
        # Another loop runs in this thread (an async host): finish ours beside it.
        with ThreadPoolExecutor(1, thread_name_prefix="hybrid-sync") as helper:
            helper.submit(_finish_loop, loop, pool).result()

    async def __aenter__(self) -> Hybrid:
        return await self.astart()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def start(self) -> Hybrid:
        """Synchronous twin of :meth:`astart`."""
        return self._sync(self.astart)

    def close(self) -> None:
        """Synchronous twin of :meth:`aclose`."""
        self._sync(self.aclose)
        self._close_private_loop()

    def __enter__(self) -> Hybrid:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _make_router(self) -> None:
        policy = self._routing
        named = [("routing.strategy", policy.strategy)]
        named += [
            (join_key(("routing", "capabilities", cap)), name)
            for cap, name in policy.capability_strategies.items()
        ]
        for key, name in named:
            if name not in self.strategies:
                error = UnknownStrategyError(name, list(self.strategies))
                self._name_problem(key, str(error))
                self.problems.append(f"routing: {error}")
        self._router = Router(
            registry=self.registry,
            strategies=self.strategies,
            executor=lambda: self.executor,
            telemetry=self.telemetry,
            resources=self.resources,
            policy=policy,
            run_workflow=self._run_provider_workflow,
        )

    # -- sync bridging --------------------------------------------------------------------

    def _sync(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine to completion from sync code.

        With no event loop running in this thread, it runs on the system's own loop. With
        one running (a notebook, an async host calling sync code), it runs on that same
        private loop in a worker thread, because blocking the running loop would deadlock.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            running = False  # not inside the except block: errors must not chain to this
        else:
            running = True
        if not running:
            return self._on_own_loop(fn)
        with ThreadPoolExecutor(1, thread_name_prefix="hybrid-sync") as pool:
            return pool.submit(self._on_own_loop, fn).result()

    def _on_own_loop(self, fn: Callable[[], Awaitable[T]]) -> T:
        with self._loop_lock:
            if self._loop is None or self._loop.is_closed():
                self._loop, self._loop_pool = _private_loop()
            loop = self._loop
        return loop.run_until_complete(_as_coroutine(fn))

    # -- capabilities ---------------------------------------------------------------------

    @property
    def router(self) -> Router:
        """The router that serves capability requests."""
        if self._state != _RUNNING:  # read by every engine step: the check, inline
            self._require_running()
        return self._router  # type: ignore[return-value] # set while running

    async def aexecute(
        self,
        capability: str,
        payload: Any = None,
        context: ExecutionContext | None = None,
        **options: Any,
    ) -> Any:
        """Get ``capability`` served for ``payload``, whoever provides it.

        Options go to :meth:`Router.aexecute`: ``strategy``, ``providers``, ``timeout``,
        ``retries``, ``fallbacks``.
        """
        return await self.router.route(capability, payload, context, None, None, **options)

    def execute(self, capability: str, payload: Any = None, **options: Any) -> Any:
        """Synchronous twin of :meth:`aexecute`."""
        return self._sync(lambda: self.aexecute(capability, payload, **options))

    def explain(
        self, capability: str, payload: Any = None, *, strategy: str | None = None
    ) -> Decision:
        """Which provider would serve ``capability`` now, and why; calls nothing."""
        return self.router.decide(capability, payload, strategy=strategy)

    async def _run_provider_workflow(
        self, workflow: Any, inputs: Mapping[str, Any], context: ExecutionContext
    ) -> Any:
        result = await self.arun(workflow, inputs, context=context)
        return result.unwrap()

    # -- workflows ------------------------------------------------------------------------

    def workflow(self, name: str) -> Workflow:
        """The workflow registered under ``name``; LookupError with a did-you-mean if none."""
        provider = self.registry.get(name)
        if provider is None or provider.kind is not ProviderKind.WORKFLOW:
            known = [p.name for p in self.registry.of_kind(ProviderKind.WORKFLOW)]
            close = close_matches(name, known)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else (f"known: {', '.join(sorted(known))}" if known else "none is registered")
            )
            raise LookupError(f"no workflow is named {name!r} ({hint})")
        workflow: Workflow = provider.target
        return workflow

    async def arun(
        self,
        workflow: Workflow | str,
        /,
        inputs: Mapping[str, Any] | None = None,
        *,
        context: ExecutionContext | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        halt_grace: float = 5.0,
        **more_inputs: Any,
    ) -> RunResult:
        """Run a workflow (an object, or the name of a registered one) and return its result.

        Inputs come from ``inputs`` and/or keywords. The run never raises for a failed
        step: read ``result.status``, or call ``result.unwrap()``. Blocking steps run on
        the system's executor; capability and engine steps reach its router. After a
        halt, running steps get ``halt_grace`` seconds to finish before they are
        cancelled. An input named like one of these options goes in ``inputs``.
        """
        wf = self.workflow(workflow) if isinstance(workflow, str) else workflow
        given = {**wf.defaults, **(inputs or {}), **more_inputs}
        durable = None
        if self.journal is not None and (context is None or context.parent is None):
            # A nested call (a workflow serving a capability) is part of its caller's run.
            run_id = context.run_id if context is not None else new_run_id()
            durable = self._journal_run(self.journal, wf, given, run_id)
        return await arun_workflow(
            wf,
            given,
            executor=self.executor,
            telemetry=self.telemetry,
            context=context,
            max_concurrency=max_concurrency,
            timeout=timeout,
            halt_grace=halt_grace,
            system=self,
            journal=durable,
        )

    def _journal_run(
        self, journal: Journal, wf: Workflow, inputs: Mapping[str, Any], run_id: str
    ) -> Durable:
        # The journal's side of a run (its codec, the definition's digests) loads with the
        # first journaled run.
        from ._workflow.durable import Durable, encode, fingerprints, prints_text

        wf.plan()  # a definition error is raised before anything is journaled
        whole, _ = fingerprints(wf)
        data = encode(journal.codec, dict(inputs), f"the inputs of workflow {wf.name!r}")
        writer = journal.begin(
            run_id,
            workflow=wf.name,
            fingerprint=whole,
            step_prints=prints_text(wf),
            inputs=data,
            total=len(wf.steps),
            meta=self.run_meta,
        )
        return Durable(writer)

    def run(
        self,
        workflow: Workflow | str,
        /,
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult:
        """Synchronous twin of :meth:`arun` (works with or without a running loop)."""
        return self._sync(lambda: self.arun(workflow, inputs, **options))

    async def aresume(
        self,
        run: RunResult | str,
        /,
        *,
        workflow: Workflow | None = None,
        force: bool = False,
        **options: Any,
    ) -> RunResult:
        """Resume a run: only the steps it did not complete run.

        ``run`` is a :class:`RunResult` (the run held in memory) or the id of a journaled
        run. A journaled run is claimed (its lease; :class:`RunOwnedError` while another
        live process holds it), its completed steps' results are read back and never run
        again, map elements included; steps interrupted midway run again with the same
        ``context.idempotency_key``. ``workflow`` is needed only when the run's workflow
        is not registered by name. A definition that changed since the run was journaled
        raises :class:`DefinitionChangedError` naming the steps, unless ``force``. A run
        that had succeeded comes back as it was, nothing run; one that stopped while
        rolling back finishes its rollback.
        """
        self._require_running()
        if isinstance(run, RunResult):
            return await aresume_workflow(
                run, executor=self.executor, telemetry=self.telemetry, system=self, **options
            )
        journal = self.journal
        if journal is None:
            raise JournalError(
                f"cannot resume run {run!r}: this system has no journal; pass journal= to "
                "Hybrid() or set [runs] path"
            )
        from ._workflow.durable import Durable, changed_steps, fingerprints, finished

        row = journal.run(run, count=False)
        if workflow is None:
            try:
                workflow = self.workflow(row.workflow)
            except LookupError as exc:
                raise JournalError(
                    f"cannot resume run {run}: {exc}; pass workflow= to resume it"
                ) from None
        whole, prints = fingerprints(workflow)
        if whole != row.fingerprint and not force:
            changed = changed_steps(row.step_prints, prints)
            shown = ", ".join(changed[:8]) + (
                f" and {len(changed) - 8} more" if len(changed) > 8 else ""
            )
            raise DefinitionChangedError(
                f"run {run}: workflow {row.workflow!r} changed since the run was journaled "
                f"(steps: {shown or 'its inputs'}); resume with force=True (hybrid resume "
                "--force) to reuse what completed anyway, or start a new run",
                run_id=run,
                steps=changed,
            )
        if "inputs" in options:
            raise TypeError("aresume(): a resumed run reuses its journaled inputs")
        if row.status == "succeeded" and whole == row.fingerprint:
            # Nothing is left to do: no lease to take, no step to restore until asked for.
            return finished(
                workflow,
                run,
                row.inputs or {},
                row.result,
                lambda: journal.outcomes(run),
                journal.codec_named(row.codec),
            )
        _, writer = journal.claim(run, fingerprint=whole, step_prints=prints)
        durable = Durable(
            writer,
            lambda under: journal.outcomes(run, under),
            rollback_only=row.status == "rolling_back",
        )
        return await arun_workflow(
            workflow,
            row.inputs or {},
            executor=self.executor,
            telemetry=self.telemetry,
            system=self,
            journal=durable,
            **options,
        )

    def resume(
        self,
        run: RunResult | str,
        /,
        *,
        workflow: Workflow | None = None,
        force: bool = False,
        **options: Any,
    ) -> RunResult:
        """Synchronous twin of :meth:`aresume`."""
        return self._sync(lambda: self.aresume(run, workflow=workflow, force=force, **options))

    def plan(self, workflow: Workflow | str) -> ExecutionPlan:
        """Read a workflow before running it: levels, critical path, widest level, peak
        demand per resource pool, the pool that will serialise the most steps, and needs
        that no pool can ever meet (as ``problems``)."""
        self._require_running()
        wf = self.workflow(workflow) if isinstance(workflow, str) else workflow
        from ._bridge.capacity import plan_workflow  # only plan() needs it

        return plan_workflow(wf, self.registry, self.resources)

    def missing(self, workflow: Workflow) -> list[str]:
        """What ``workflow`` needs that this system lacks: one sentence per gap."""
        self._require_running()
        gaps = []
        for step, what, name in needs(workflow):
            if what == "provider" and name not in self.registry:
                gaps.append(f"step {step!r} pins {name!r}, which no plugin registered")
            elif what == "capability" and not self.registry.providers(name):
                close = self.registry.suggest(name, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                gaps.append(f"step {step!r} needs capability {name!r}, which nobody provides{hint}")
        return gaps

    def register(
        self, item: Engine | Workflow | WorkflowProvider, *, origin: str = "host"
    ) -> Provider:
        """Register an engine or workflow from the host, as a plugin would."""
        if isinstance(item, Engine):
            return self.registry.register_engine(item, origin=origin)
        if isinstance(item, (Workflow, WorkflowProvider)):
            return self.registry.register_many([workflow_entry(item)], origin=origin)[0]
        raise TypeError(
            f"register() takes an Engine, a Workflow or a workflow_provider(...), not {item!r}"
        )

    def providers(self, capability: str) -> tuple[Provider, ...]:
        """Providers of ``capability``, best first; shorthand for the registry's lookup."""
        return self.registry.providers(capability)

    def __repr__(self) -> str:
        return (
            f"<Hybrid {self._state} plugins={len(self._manager.records)} "
            f"providers={len(self.registry)}>"
        )


async def _as_coroutine(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()
