"""How a system is put together from its plugins, and taken apart again.

:class:`Assembly` is the part of :class:`~hybrid_core.Hybrid` that loads plugins (the
built-in one, the host's, the entry points), registers what each gives all or nothing,
takes out everything a plugin added when it fails, attaches sinks, builds the configured
workflows, starts and stops engines, and runs the startup and shutdown hooks. It keeps
its state on the system; ``Hybrid`` decides when each step happens.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._bridge.steps import WorkflowProvider
from .._config.compose import join_key
from .._config.load import ROUTING_KEYS, Config
from .._core.log import logger
from .._core.records import Engine, ProviderKind, engine_problem
from .._core.registry import Registry
from .._core.util import close_matches, gc_paused
from .._execution.executor import Executor
from .._routing.strategies import RoutingStrategy
from .._telemetry.bus import Sink, TelemetryBus
from .._workflow import Workflow
from ..exceptions import ConfigError, ConfigProblem, PluginError, PluginValidationError
from .builtin import BUILTIN_SINKS, BuiltinPlugin
from .manager import PluginManager, PluginRecord, Selection, scan_entry_points
from .settings import check_settings, settings_schemas
from .shipped import Shipped, build_shipped, describe_workflow, split_workflows

if TYPE_CHECKING:
    from .._journal.codec import Codec
    from .._journal.store import Journal

__all__ = ["Assembly", "Unresolved", "workflow_entry"]


@attrs.frozen
class Unresolved:
    """A name the configuration uses (a sink, executor, strategy, engine, capability or
    workflow) that nothing loaded provides.

    ``suspects`` are the plugins that failed and may have provided it: then the file may
    be right and the environment wrong. With none, the name is the file's mistake.
    """

    problem: ConfigProblem
    suspects: tuple[str, ...] = ()


def _suspected(message: str, suspects: tuple[str, ...]) -> str:
    if not suspects:
        return message
    names = ", ".join(map(repr, suspects))
    which = f"plugin {names}, which failed to load," if len(suspects) == 1 else (
        f"plugins {names}, which failed to load,"
    )  # fmt: skip
    return f"{message}; {which} may have provided it"


@attrs.define
class _Contribution:
    """What one plugin added to the system, so that it can be taken out again."""

    providers: list[str] = attrs.Factory(list)
    strategies: list[str] = attrs.Factory(list)
    executors: list[str] = attrs.Factory(list)
    codecs: list[str] = attrs.Factory(list)
    sinks: list[Sink] = attrs.Factory(list)
    files: list[object] = attrs.Factory(list)  # workflow files, built once all are in
    refused: list[str] = attrs.Factory(list)  # settings tables with problems: not built


def _check_engine(item: object) -> str | None:
    if not isinstance(item, Engine):
        return "is not a hybrid_core.Engine"
    # Found now, once, rather than as a failure (retried) on every call.
    problem = engine_problem(item)
    return None if problem is None else f"is refused: {problem}"


def _check_workflow(item: object) -> str | None:
    ok = isinstance(item, (Workflow, WorkflowProvider)) or split_workflows([item])[1]
    return None if ok else (
        "is not a hybrid_core.Workflow (nor a workflow_provider(...), nor a .toml file)"
    )  # fmt: skip


def _own(record: PluginRecord) -> str:
    """A failed plugin's error without the plugin's name in front (the caller says it)."""
    error = record.error or ""
    return error.removeprefix(f"plugin {record.name!r}: ")


def workflow_entry(item: Workflow | WorkflowProvider) -> tuple[Any, ...]:
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


_check_routing_order = _check_named("order")


def _check_strategy(item: object) -> str | None:
    """A strategy as ``_check_named`` checks it, named apart from the fixed ``[routing]``
    keys, so that its options table ``[routing.NAME]`` cannot be mistaken for one."""
    wrong = _check_routing_order(item)
    name = getattr(item, "name", None)
    if wrong is None and name in ROUTING_KEYS:
        return (
            f"is named {name!r}, a fixed key of [routing], so its options table "
            f"[routing.{name}] would clash with it; give the strategy another name"
        )
    return wrong


_check_sink = _check_named("handle", "flush", "close")
_check_executor = _check_named("asubmit", "aclose")
_check_codec = _check_named("encode", "decode")


class Assembly:
    """Plugin loading and the start and close sequence, for :class:`Hybrid` to inherit."""

    config: Config
    registry: Registry
    telemetry: TelemetryBus
    strategies: dict[str, RoutingStrategy]
    executors: dict[str, Executor]
    codecs: dict[str, Codec]
    journal: Journal | None
    problems: list[str]
    _selection: Selection
    _explicit: tuple[object, ...]
    _entry_points: bool
    _extra_sinks: tuple[Sink, ...]
    _manager: PluginManager
    _contrib: dict[str, _Contribution]
    _started_engines: list[Engine]
    _noted: set[str]  # failed plugins already noted in the registry
    _declared: dict[str, Shipped]  # workflows built from TOML tables, by name
    unresolved: list[Unresolved]
    _fatal: list[ConfigProblem]  # raised together once every name has been checked

    @property
    def plugins(self) -> list[PluginRecord]:
        """Every plugin the system saw, in load order, with its status."""
        return list(self._manager.records.values())

    @property
    def failures(self) -> list[PluginRecord]:
        """The plugins that failed to load or start."""
        return [r for r in self._manager.records.values() if r.status == "failed"]

    def provided(self, kind: str) -> list[tuple[str, str]]:
        """``(name, plugin)`` of each ``strategies``, ``executors``, ``codecs`` or ``sinks``
        item the loaded plugins gave, in load order (``hybrid list KIND``)."""
        found = []
        for plugin, contribution in self._contrib.items():
            for item in getattr(contribution, kind):
                found.append((item if isinstance(item, str) else item.name, plugin))
        if kind == "sinks":
            found += [(sink.name, "host") for sink in self._extra_sinks]
        return found

    def declared_workflows(self) -> list[dict[str, Any]]:
        """Every registered workflow with its origin, file, description and inputs."""
        return [
            describe_workflow(p, self._declared)
            for p in sorted(self.registry.of_kind(ProviderKind.WORKFLOW), key=lambda p: p.name)
        ]

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
        engines: list[Engine] = []
        workflows: list[Any] = []
        files: list[object] = []
        try:
            self._check_plugin_settings(record)
            engines = manager.collect(record, "hybrid_engines", _check_engine)
            workflows = manager.collect(record, "hybrid_workflows", _check_workflow)
            workflows, files = split_workflows(workflows)
            strategies = self._collect_strategies(record)
            executors = self._collect_executors(record)
            codecs = manager.collect(record, "hybrid_journal_codecs", _check_codec)
            sinks = self._collect_sinks(record)
            self._check_unique("routing strategy", self.strategies, strategies, name)
            self._check_unique("executor", self.executors, executors, name)
            self._check_unique("journal codec", self.codecs, codecs, name)
            engines = [e for e in map(self._override, engines) if e is not None]
            if record.version is not None:  # an engine without a version has its plugin's
                engines = [
                    e if e.version is not None else attrs.evolve(e, version=record.version)
                    for e in engines
                ]
            entries = [(ProviderKind.ENGINE, e.name, e.capabilities, e) for e in engines]
            entries += [workflow_entry(w) for w in workflows]
            providers = self.registry.register_many(entries, origin=name)
        except Exception as exc:  # noqa: BLE001 - one plugin never breaks the others
            self._fail(record, exc)
            served = {c for e in engines for c in e.capabilities}
            for entry in map(workflow_entry, workflows):
                served.update(entry[2] or ())
            self._noted.add(name)
            self.registry.note_failure(
                f"plugin {name!r}, which would serve it, failed to load: {_own(record)}", served
            )
            return
        contribution = self._contrib.setdefault(name, _Contribution())
        contribution.providers = [p.name for p in providers]
        for strategy in strategies:
            self.strategies[strategy.name] = strategy
            contribution.strategies.append(strategy.name)
        for executor in executors:
            self.executors[executor.name] = executor
            contribution.executors.append(executor.name)
        for codec in codecs:
            self.codecs[codec.name] = codec
            contribution.codecs.append(codec.name)
        contribution.sinks = list(sinks)
        contribution.files = files

    def _collect_executors(self, record: PluginRecord) -> list[Any]:
        """The plugin's executors; a ConfigError about its ``[executor.NAME]`` table is
        the file's problem, reported with the others, not the plugin's failure."""
        settings = {"settings": self.config.executor.settings}
        return self._collect_configured(
            record, "hybrid_executors", _check_executor, settings, "executor"
        )

    def _collect_sinks(self, record: PluginRecord) -> list[Any]:
        """The plugin's sinks; a ConfigError about its ``[telemetry.NAME]`` table is the
        file's problem, as for executors."""
        settings = {"settings": self.config.telemetry}
        return self._collect_configured(
            record, "hybrid_telemetry_sinks", _check_sink, settings, "telemetry"
        )

    def _collect_strategies(self, record: PluginRecord) -> list[Any]:
        """The plugin's routing strategies, given the ``[routing]`` table; a ConfigError
        about its ``[routing.NAME]`` table is the file's problem, as for executors."""
        settings = {"settings": self.config.routing.settings()}
        return self._collect_configured(
            record, "hybrid_routing_strategies", _check_strategy, settings, "routing"
        )

    def _collect_configured(
        self,
        record: PluginRecord,
        hook: str,
        check: Callable[[object], str | None],
        settings: Mapping[str, Any],
        section: str,
    ) -> list[Any]:
        contribution = self._contrib.get(record.name)
        refused = contribution.refused if contribution is not None else []
        if any(p.startswith(f"{section}.") for p in refused):
            # Its table broke the schema it declared (reported already): the hook would
            # build from a table it was promised is valid, and the system cannot start.
            return []
        try:
            return self._manager.collect(record, hook, check, settings)
        except PluginError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ConfigError):
                raise
            source = self.config.source or "<config>"
            known = {p.key for p in self._fatal}
            for problem in cause.problems:
                found = self._relocated(ConfigProblem(source, problem.key, problem.message))
                if found.key not in known:  # the settings schema said it already
                    self._fatal.append(found)
            return []

    def _check_plugin_settings(self, record: PluginRecord) -> None:
        """Check the settings tables the plugin declares (``hybrid_settings()``) before
        its hooks read them; every problem is the file's, reported with the others."""
        schemas = settings_schemas(self._manager, record)
        for path, schema in schemas.items():
            found = check_settings({path: schema}, self.config, self.config.source or "<config>")
            if found:
                self._fatal += [self._relocated(p) for p in found]
                self._contrib.setdefault(record.name, _Contribution()).refused.append(path)

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

    def _declare_plugin_workflows(self) -> None:
        """Build the workflow files plugins ship; a broken file fails its plugin."""
        for name, contribution in list(self._contrib.items()):
            if not contribution.files:
                continue
            record = self._manager.records[name]
            try:
                with gc_paused():
                    shipped = build_shipped(
                        record, contribution.files, self.registry, list(self.strategies)
                    )
                entries = [(ProviderKind.WORKFLOW, n, s.declared.workflow.capabilities,
                            s.declared.workflow) for n, s in shipped.items()]  # fmt: skip
                providers = self.registry.register_many(entries, origin=name)
            except Exception as exc:  # noqa: BLE001 - one plugin never breaks the others
                self._fail(record, exc)
                continue
            contribution.providers += [p.name for p in providers]
            for workflow, found in shipped.items():
                self._declared[workflow] = found

    def _declare_workflows(self) -> None:
        """Build ``[workflows.*]`` and check ``[engines.*]`` names; problems are fatal."""
        self._declare_plugin_workflows()
        engine_names = {e.name for e in self._all_plugin_engines()}
        for name in self.config.engines:
            if name not in engine_names:
                close = close_matches(name, sorted(engine_names))
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                message = f"no installed plugin provides an engine named {name!r}{hint}"
                self._fatal.append(self._name_problem(_engine_key(name), message).problem)
        if not self.config.workflows:
            return  # nothing declared: the builder (and its module) is not needed
        from .._config.declare import build_workflows

        with gc_paused():
            declared = build_workflows(
                self.config.workflows, self.registry, list(self.strategies),
                source=self.config.source or "<config>",
            )  # fmt: skip
        names = set(declared.names)
        for found in declared.problems:
            if found in names:
                self._fatal.append(self._name_problem(found.key, found.message).problem)
            else:
                self._fatal.append(self._relocated(found))
        if declared.problems:
            return
        built = declared.built
        entries = [(ProviderKind.WORKFLOW, n, d.workflow.capabilities, d.workflow)
                   for n, d in built.items()]  # fmt: skip
        self.registry.register_many(entries, origin="config")
        self._declared.update({n: Shipped(d, self.config.source or "<config>")
                              for n, d in built.items()})  # fmt: skip

    def _check_routed_capabilities(self) -> None:
        """``[routing.capabilities]`` names capabilities; each must be served by someone."""
        policy = self.config.routing
        for capability in policy.capability_strategies:
            if self.registry.providers(capability):
                continue
            close = self.registry.suggest(capability, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            key = join_key(("routing", "capabilities", capability))
            found = self._name_problem(key, f"no provider serves capability {capability!r}{hint}")
            self.problems.append(str(found.problem))

    def _name_problem(self, key: str, message: str) -> Unresolved:
        """Record that ``key`` names something nothing loaded provides."""
        suspects = tuple(r.name for r in self.failures)
        problem = ConfigProblem(
            self.config.source or "<config>", key, _suspected(message, suspects)
        )
        found = Unresolved(self._relocated(problem), suspects)
        self.unresolved.append(found)
        return found

    def _relocated(self, problem: ConfigProblem) -> ConfigProblem:
        composed = self.config.composed
        return composed.relocate([problem])[0] if composed is not None else problem

    def _raise_config_problems(self) -> None:
        if self._fatal:
            raise ConfigError(self._fatal)

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
            for codec in contribution.codecs:
                self.codecs.pop(codec, None)
            for sink in contribution.sinks:
                self.telemetry.detach(sink)
        self._manager.unregister(record)

    def _attach_sinks(self) -> None:
        names: set[str] = set()
        for contribution in self._contrib.values():
            # A sink whose table was refused is known: its problems are reported already.
            names.update(p.partition(".")[2] for p in contribution.refused
                         if p.startswith("telemetry."))  # fmt: skip
            for sink in contribution.sinks:
                self.telemetry.attach(sink)
                names.add(sink.name)
        for sink in self._extra_sinks:
            self.telemetry.attach(sink)
        wanted = list(self.config.telemetry.get("sinks", ()))
        for index, name in enumerate(wanted):
            if name in names:
                continue
            close = close_matches(name, sorted({*names, *BUILTIN_SINKS}))
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else (f"built-in sinks: {', '.join(BUILTIN_SINKS)}")
            )
            message = f"no plugin provides a sink named {name!r} ({hint})"
            found = self._name_problem(f"telemetry.sinks[{index}]", message)
            if found.suspects:
                # It may be the failed plugin's: reported, not fatal (--strict makes it so).
                self.problems.append(f"telemetry.sinks: {message}")
            else:
                self._fatal.append(found.problem)
        self._check_sink_tables({*names, *BUILTIN_SINKS, *wanted})

    def _check_sink_tables(self, known: set[str]) -> None:
        """A ``[telemetry.NAME]`` table for no sink at all is a misspelling, or dead."""
        for key, value in self.config.telemetry.items():
            if key == "sinks" or not isinstance(value, Mapping) or key in known:
                continue
            close = close_matches(str(key), sorted(known))
            hint = f"did you mean {close[0]!r}?" if close else "list it in telemetry.sinks"
            message = (
                f"settings for a sink named {key!r}, which no loaded plugin provides and "
                f"telemetry.sinks does not list ({hint})"
            )
            found = self._name_problem(join_key(("telemetry", str(key))), message)
            self.problems.append(str(found.problem))

    def _check_codec(self) -> None:
        """The journal's codec is one a plugin provides (``[runs] codec``)."""
        journal = self.journal
        if journal is None:
            return
        journal.add_codecs(self.codecs)
        name = journal.codec_name
        if name not in self.codecs:
            message = (
                f"no plugin provides a journal codec named {name!r}"
                f"{_closest(name, self.codecs)} (available: {', '.join(sorted(self.codecs))})"
            )
            self._fatal.append(self._name_problem("runs.codec", message).problem)

    def _check_executor(self) -> None:
        self._check_executor_tables()
        name = self.config.executor.name
        if name not in self.executors:
            message = (
                f"no plugin provides an executor named {name!r}"
                f"{_closest(name, self.executors)} (available: "
                f"{', '.join(sorted(self.executors))})"
            )
            self._name_problem("executor.name", message)
            self.problems.append(f"executor.name: {message}; using 'local'")

    def _check_strategy_tables(self) -> None:
        """A ``[routing.NAME]`` table for no strategy at all is a misspelling, or dead."""
        refused = {p.partition(".")[2] for c in self._contrib.values() for p in c.refused
                   if p.startswith("routing.")}  # fmt: skip
        tables = [k for k in self.config.routing.strategy_settings if k not in refused]
        self._orphan_tables("routing", tables, self.strategies, "a routing strategy")

    def _check_executor_tables(self) -> None:
        """An ``[executor.NAME]`` table for no executor at all is a misspelling, or dead."""
        settings = self.config.executor.settings
        tables = [k for k, v in settings.items() if isinstance(v, Mapping)]
        self._orphan_tables("executor", tables, self.executors, "an executor")

    def _orphan_tables(
        self, section: str, tables: Iterable[str], known: Mapping[str, Any], what: str
    ) -> None:
        """Report each ``[SECTION.NAME]`` table whose NAME no loaded plugin provides."""
        for key in tables:
            if key in known:
                continue
            message = (
                f"settings for {what} named {key!r}, which no loaded plugin provides"
                f"{_closest(str(key), known)}"
            )
            found = self._name_problem(join_key((section, str(key))), message)
            self.problems.append(str(found.problem))

    async def _start_executor(self) -> None:
        """The chosen executor's optional ``astart()``: a cluster unreachable stops here."""
        chosen = self.executors.get(self.config.executor.name)
        start = getattr(chosen, "astart", None)
        if callable(start):
            await _maybe_await(start())

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

    def _note_load_failures(self) -> None:
        """Plugins that failed before saying what they serve may explain any gap."""
        for record in self.failures:
            if record.name not in self._noted:
                self._noted.add(record.name)
                self.registry.note_failure(
                    f"plugin {record.name!r} failed to load and may have provided it: "
                    f"{_own(record)}"
                )

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


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _closest(name: str, known: Iterable[str]) -> str:
    close = close_matches(name, sorted(known))
    return f" (did you mean {close[0]!r}?)" if close else ""


def _engine_key(name: str) -> str:
    return join_key(("engines", name))


def _plugin_name(plugin: object, index: int) -> str:
    name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return f"{type(plugin).__name__.lower()}-{index}"
