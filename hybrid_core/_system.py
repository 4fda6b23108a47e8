"""The ``Hybrid`` facade: plugins, registry, executor, strategies and telemetry in one object.

A host holds one or several of these; two systems share no state. Building a system does
nothing but check its configuration; :meth:`Hybrid.astart` (or ``async with``) loads the
plugins, registers what they provide, starts engines and runs the startup hooks, exactly
once. :meth:`Hybrid.aclose` undoes all of it, exactly once.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import attrs

from ._bridge import WorkflowProvider, needs
from ._builtin import BUILTIN_SINKS, BuiltinPlugin
from ._capacity import ExecutionPlan, plan_workflow
from ._compose import compose_mapping
from ._config import Config, config_from_composed, load_config
from ._context import ExecutionContext
from ._declare import build_workflows
from ._executor import Executor
from ._log import logger
from ._plugins import PluginManager, PluginRecord, Selection, scan_entry_points
from ._records import Engine, Provider, ProviderKind
from ._registry import Registry
from ._resources import ResourcePools
from ._router import Decision, Router, RoutingPolicy
from ._routing import RoutingStrategy
from ._telemetry import Sink, TelemetryBus
from ._util import close_matches
from ._workflow import RunResult, Workflow, aresume_workflow, arun_workflow
from .exceptions import (
    ConfigError,
    ConfigProblem,
    PluginError,
    PluginValidationError,
    SystemStateError,
    UnknownStrategyError,
)

__all__ = ["Hybrid"]

T = TypeVar("T")

_NEW, _STARTING, _RUNNING, _CLOSED = "new", "starting", "running", "closed"


@attrs.define
class _Contribution:
    """What one plugin added to the system, so that it can be taken out again."""

    providers: list[str] = attrs.Factory(list)
    strategies: list[str] = attrs.Factory(list)
    executors: list[str] = attrs.Factory(list)
    sinks: list[Sink] = attrs.Factory(list)


def _check_engine(item: object) -> str | None:
    return None if isinstance(item, Engine) else "is not a hybrid_core.Engine"


def _check_workflow(item: object) -> str | None:
    ok = isinstance(item, (Workflow, WorkflowProvider))
    return None if ok else "is not a hybrid_core.Workflow (nor a workflow_provider(...))"


def _workflow_entry(item: Workflow | WorkflowProvider) -> tuple[Any, ...]:
    if isinstance(item, WorkflowProvider):
        return (ProviderKind.WORKFLOW, item.name, item.capabilities, item.workflow)
    return (ProviderKind.WORKFLOW, item.name, item.capabilities, item)


def _check_named(*methods: str) -> Callable[[object], str | None]:
    def check(item: object) -> str | None:
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            return "has no 'name' string attribute"
        missing = [m for m in methods if not callable(getattr(item, m, None))]
        if missing:
            return f"named {name!r} lacks method(s) {', '.join(missing)}"
        return None

    return check


_check_strategy = _check_named("order")
_check_sink = _check_named("handle", "flush", "close")
_check_executor = _check_named("asubmit", "aclose")


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


class Hybrid:
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
    ``[profile.NAME]`` overlay of a file or mapping configuration.
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
    ) -> None:
        self.config = _resolve_config(config, profile)
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
        self.problems: list[str] = []
        self.resources = ResourcePools(self.config.resources if resources is None else resources)
        self._routing = self.config.routing if routing is None else routing
        self._router: Router | None = None
        self._manager = PluginManager()
        self._contrib: dict[str, _Contribution] = {}
        self._started_engines: list[Engine] = []
        self._defaults: dict[int, Mapping[str, Any]] = {}
        self._state = _NEW
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()

    # -- what the host reads --------------------------------------------------------------

    @property
    def plugins(self) -> list[PluginRecord]:
        """Every plugin the system saw, in load order, with its status."""
        return list(self._manager.records.values())

    @property
    def failures(self) -> list[PluginRecord]:
        """The plugins that failed to load or start."""
        return [r for r in self._manager.records.values() if r.status == "failed"]

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
            self._state = _STARTING
            try:
                self._load_plugins()
                for record in self._manager.loaded():
                    self._absorb(record)
                self._attach_sinks()
                self._check_executor()
                self._make_router()
                self._declare_workflows()
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
        with self._loop_lock:
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    def __enter__(self) -> Hybrid:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- loading --------------------------------------------------------------------------

    def _load_plugins(self) -> None:
        manager = self._manager
        manager.add(BuiltinPlugin(self.config.executor), "builtin", source="builtin")
        for index, plugin in enumerate(self._explicit):
            manager.add(plugin, _plugin_name(plugin, index), source="explicit")
        if self._entry_points:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        sel = self._selection
        refs = scan_entry_points()
        for ref in refs:
            if sel.only is not None and ref.name not in sel.only:
                self._manager.record_disabled(ref, f"not listed in {sel.origin}")
            elif ref.name in sel.disable:
                self._manager.record_disabled(ref, "listed in [plugins] disable")
            else:
                self._manager.add_entry_point(ref)
        installed = [r.name for r in refs]
        for name in sel.only or ():
            if name not in installed:
                self._manager.record_missing(name, installed, sel.origin)

    def _absorb(self, record: PluginRecord) -> None:
        """Collect everything one plugin gives and register it, all or nothing."""
        manager, name = self._manager, record.name
        try:
            engines = manager.collect(record, "hybrid_engines", _check_engine)
            workflows = manager.collect(record, "hybrid_workflows", _check_workflow)
            strategies = manager.collect(record, "hybrid_routing_strategies", _check_strategy)
            executors = manager.collect(record, "hybrid_executors", _check_executor)
            sinks = manager.collect(
                record,
                "hybrid_telemetry_sinks",
                _check_sink,
                {"settings": self.config.telemetry},
            )
            self._check_unique("routing strategy", self.strategies, strategies, name)
            self._check_unique("executor", self.executors, executors, name)
            engines = [e for e in map(self._override, engines) if e is not None]
            if record.version is not None:  # an engine without a version has its plugin's
                engines = [
                    e if e.version is not None else attrs.evolve(e, version=record.version)
                    for e in engines
                ]
            entries = [(ProviderKind.ENGINE, e.name, e.capabilities, e) for e in engines]
            entries += [_workflow_entry(w) for w in workflows]
            providers = self.registry.register_many(entries, origin=name)
        except Exception as exc:  # noqa: BLE001 - one plugin never breaks the others
            self._fail(record, exc)
            return
        contribution = self._contrib.setdefault(name, _Contribution())
        contribution.providers = [p.name for p in providers]
        for strategy in strategies:
            self.strategies[strategy.name] = strategy
            contribution.strategies.append(strategy.name)
        for executor in executors:
            self.executors[executor.name] = executor
            contribution.executors.append(executor.name)
        contribution.sinks = list(sinks)

    def _override(self, engine: Engine) -> Engine | None:
        """The engine as ``[engines.NAME]`` adjusts it, or None when it is disabled there."""
        found = self.config.engines.get(engine.name)
        if found is None:
            return engine
        if not found.enable:
            return None
        changes: dict[str, Any] = {}
        if isinstance(found.priority, int):
            changes["capabilities"] = {cap: found.priority for cap in engine.capabilities}
        elif found.priority is not None:
            changes["capabilities"] = {**engine.capabilities, **found.priority}
        for field in ("max_concurrency", "timeout", "resources"):
            if getattr(found, field) is not None:
                changes[field] = getattr(found, field)
        return attrs.evolve(engine, **changes) if changes else engine

    def _declare_workflows(self) -> None:
        """Build ``[workflows.*]`` and check ``[engines.*]`` names; any problem is fatal."""
        problems = []
        engine_names = {e.name for e in self._all_plugin_engines()}
        for name in self.config.engines:
            if name not in engine_names:
                close = close_matches(name, sorted(engine_names))
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(ConfigProblem(
                    self.config.source or "<config>", f"engines.{name}",
                    f"no installed plugin provides an engine named {name!r}{hint}",
                ))  # fmt: skip
        built, found = build_workflows(
            self.config.workflows, self.registry, list(self.strategies),
            source=self.config.source or "<config>",
        )  # fmt: skip
        problems += found
        if problems:
            raise ConfigError(problems)
        entries = [(ProviderKind.WORKFLOW, n, d.workflow.capabilities, d.workflow)
                   for n, d in built.items()]  # fmt: skip
        self.registry.register_many(entries, origin="config")
        self._defaults = {id(d.workflow): d.defaults for d in built.values()}

    def _all_plugin_engines(self) -> list[Engine]:
        """Every engine the loaded plugins offer, disabled ones included."""
        found: list[Engine] = []
        for record in self._manager.loaded():
            try:
                items = self._manager.collect(record, "hybrid_engines", _check_engine)
            except Exception:  # noqa: BLE001 - a broken plugin is reported elsewhere
                continue
            found += items
        return found

    def _check_unique(
        self, what: str, existing: Mapping[str, object], new: Iterable[Any], origin: str
    ) -> None:
        seen: set[str] = set()
        for item in new:
            owner = self._owner_of(what, item.name)
            if item.name in existing or item.name in seen:
                raise PluginValidationError(
                    origin,
                    f"{what} {item.name!r} is already provided by {owner or origin!r}; "
                    "rename it or disable one plugin",
                )
            seen.add(item.name)

    def _owner_of(self, what: str, name: str) -> str | None:
        attr = "strategies" if what == "routing strategy" else "executors"
        for plugin, contribution in self._contrib.items():
            if name in getattr(contribution, attr):
                return plugin
        return None

    def _fail(self, record: PluginRecord, error: BaseException) -> None:
        """Mark a plugin failed and take out everything it had added."""
        record.fail(error)
        logger.warning("plugin {!r} failed: {}", record.name, record.error)
        contribution = self._contrib.pop(record.name, None)
        if contribution is not None:
            for provider in contribution.providers:
                if provider in self.registry:
                    self.registry.unregister(provider)
            for strategy in contribution.strategies:
                self.strategies.pop(strategy, None)
            for executor in contribution.executors:
                self.executors.pop(executor, None)
            for sink in contribution.sinks:
                self.telemetry.detach(sink)
        self._manager.unregister(record)

    def _attach_sinks(self) -> None:
        names = set()
        for contribution in self._contrib.values():
            for sink in contribution.sinks:
                self.telemetry.attach(sink)
                names.add(sink.name)
        for sink in self._extra_sinks:
            self.telemetry.attach(sink)
        unknown = []
        for index, wanted in enumerate(self.config.telemetry.get("sinks", ())):
            if wanted in names:
                continue
            close = close_matches(wanted, sorted({*names, *BUILTIN_SINKS}))
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else (f"built-in sinks: {', '.join(BUILTIN_SINKS)}")
            )
            message = f"no plugin provides a sink named {wanted!r} ({hint})"
            if self.failures:
                # It may be the failed plugin's: reported, not fatal (--strict makes it so).
                self.problems.append(f"telemetry.sinks: {message}")
            else:
                where = self.config.source or "<config>"
                unknown.append(ConfigProblem(where, f"telemetry.sinks[{index}]", message))
        if unknown:
            raise ConfigError(unknown)

    def _make_router(self) -> None:
        policy = self._routing
        for name in (policy.strategy, *policy.capability_strategies.values()):
            if name not in self.strategies:
                self.problems.append(
                    f"routing: {UnknownStrategyError(name, list(self.strategies))}"
                )
        self._router = Router(
            registry=self.registry,
            strategies=self.strategies,
            executor=lambda: self.executor,
            telemetry=self.telemetry,
            resources=self.resources,
            policy=policy,
            run_workflow=self._run_provider_workflow,
        )

    def _check_executor(self) -> None:
        name = self.config.executor.name
        if name not in self.executors:
            self.problems.append(
                f"executor.name: no plugin provides an executor named {name!r} "
                f"(available: {', '.join(sorted(self.executors))}); using 'local'"
            )

    async def _start_engines(self) -> None:
        for provider in self.registry.of_kind(ProviderKind.ENGINE):
            engine: Engine = provider.target
            if engine.start is None:
                self._started_engines.append(engine)
                continue
            try:
                await _maybe_await(engine.start())
            except Exception as exc:  # noqa: BLE001
                record = self._manager.records[provider.origin]
                error = PluginError(
                    record.name,
                    f"engine {engine.name!r} failed to start: {type(exc).__name__}: {exc}",
                )
                error.__cause__ = exc
                self._fail(record, error)
                continue
            self._started_engines.append(engine)

    def _run_startup_hooks(self) -> None:
        for record in self._manager.loaded():
            try:
                self._manager.call(record, "hybrid_startup", {"system": self})
            except Exception as exc:  # noqa: BLE001
                self._fail(record, exc)

    def _report_failures(self) -> None:
        for record in self.failures:
            if self.telemetry.enabled:
                self.telemetry.emit(
                    "plugin.load_failed",
                    plugin=record.name,
                    distribution=record.distribution,
                    version=record.version,
                    error=record.error,
                )
        for problem in self.problems:
            logger.warning("configuration problem: {}", problem)

    def _raise_if_failed(self) -> None:
        lines = [f"{r.name}: {r.error}" for r in self.failures] + self.problems
        if lines:
            raise PluginError(
                "strict mode",
                f"{len(lines)} problem(s) while loading plugins:\n  " + "\n  ".join(lines),
            )

    # -- closing --------------------------------------------------------------------------

    async def _close(self) -> None:
        for record in reversed(self._manager.loaded()):
            try:
                self._manager.call(record, "hybrid_shutdown", {"system": self})
            except Exception as exc:  # noqa: BLE001 - every plugin gets to shut down
                logger.warning("plugin {!r}: {}", record.name, exc)
                self.problems.append(str(exc))
        for engine in reversed(self._started_engines):
            if engine.stop is not None:
                try:
                    await _maybe_await(engine.stop())
                except Exception as exc:  # noqa: BLE001
                    message = f"engine {engine.name!r} failed to stop: {type(exc).__name__}: {exc}"
                    logger.warning(message)
                    self.problems.append(message)
        self._started_engines.clear()
        for executor in self.executors.values():
            try:
                await executor.aclose()
            except Exception as exc:  # noqa: BLE001
                self.problems.append(f"executor {executor.name!r} failed to close: {exc}")
        self.telemetry.close()

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
                self._loop = asyncio.new_event_loop()
            loop = self._loop
        return loop.run_until_complete(_as_coroutine(fn))

    # -- capabilities ---------------------------------------------------------------------

    @property
    def router(self) -> Router:
        """The router that serves capability requests."""
        self._require_running()
        assert self._router is not None
        return self._router

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
        return await self.router.aexecute(capability, payload, context, **options)

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
        **more_inputs: Any,
    ) -> RunResult:
        """Run a workflow (an object, or the name of a registered one) and return its result.

        Inputs come from ``inputs`` and/or keywords. The run never raises for a failed
        step: read ``result.status``, or call ``result.unwrap()``. Blocking steps run on
        the system's executor; capability and engine steps reach its router.
        """
        wf = self.workflow(workflow) if isinstance(workflow, str) else workflow
        defaults = self._defaults.get(id(wf), {})
        return await arun_workflow(
            wf,
            {**defaults, **(inputs or {}), **more_inputs},
            executor=self.executor,
            telemetry=self.telemetry,
            context=context,
            max_concurrency=max_concurrency,
            timeout=timeout,
            system=self,
        )

    def run(
        self,
        workflow: Workflow | str,
        /,
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult:
        """Synchronous twin of :meth:`arun` (works with or without a running loop)."""
        return self._sync(lambda: self.arun(workflow, inputs, **options))

    async def aresume(self, result: RunResult, **options: Any) -> RunResult:
        """Resume a halted or failed run: only the steps it did not complete run."""
        return await aresume_workflow(
            result, executor=self.executor, telemetry=self.telemetry, system=self, **options
        )

    def resume(self, result: RunResult, **options: Any) -> RunResult:
        """Synchronous twin of :meth:`aresume`."""
        return self._sync(lambda: self.aresume(result, **options))

    def plan(self, workflow: Workflow | str) -> ExecutionPlan:
        """Read a workflow before running it: levels, critical path, widest level, peak
        demand per resource pool, the pool that will serialise the most steps, and needs
        that no pool can ever meet (as ``problems``)."""
        self._require_running()
        wf = self.workflow(workflow) if isinstance(workflow, str) else workflow
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
            return self.registry.register_many([_workflow_entry(item)], origin=origin)[0]
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


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _plugin_name(plugin: object, index: int) -> str:
    name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return f"{type(plugin).__name__.lower()}-{index}"
