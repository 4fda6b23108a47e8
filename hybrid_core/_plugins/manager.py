"""Plugin discovery and loading: entry points, selection, and one record per plugin.

Entry points of the group ``hybrid_core`` are scanned once per process, on first need
(never at import), because ``importlib.metadata`` re-reads every installed distribution's
metadata from disk on each scan. Each plugin then loads on its own: a plugin that fails to
import, names an unknown hook, raises in a hook or returns something malformed is recorded
as failed, and the others carry on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from .. import hookspecs
from .._core.util import PLUGIN_FAULTS, close_matches, reraise_interrupt
from .._markers import PROJECT
from ..exceptions import (
    PluginError,
    PluginHookError,
    PluginLoadError,
    PluginValidationError,
)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["EntryPointRef", "PluginManager", "PluginRecord", "scan_entry_points"]

ENV_VAR = "HYBRID_CORE_PLUGINS"
GROUP = "hybrid_core"

# An entry point whose import takes longer than this is reported (doctor, -v): every
# command of every process that loads plugins pays for it.
SLOW_IMPORT_SECONDS = 0.5
HOOK_NAMES = tuple(sorted(hookspecs.__all__))


@attrs.frozen
class EntryPointRef:
    """An entry point of the ``hybrid_core`` group and the distribution that declares it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: EntryPoint | None = attrs.field(eq=False, repr=False, default=None)

    def load(self) -> Any:
        if self.entry_point is None:
            raise ImportError(f"entry point {self.name!r} has nothing to load")
        return self.entry_point.load()


_scan_lock = threading.Lock()
_scan_cache: tuple[EntryPointRef, ...] | None = None


def scan_entry_points(*, refresh: bool = False) -> tuple[EntryPointRef, ...]:
    """Every entry point of the group, sorted by name; read from disk once per process.

    ``refresh=True`` reads again (after a ``pip install`` in the same process, say).
    """
    global _scan_cache  # noqa: PLW0603 - a process-wide cache is the point
    with _scan_lock:
        if _scan_cache is None or refresh:
            from importlib.metadata import entry_points

            refs = []
            for ep in entry_points(group=GROUP):
                dist = getattr(ep, "dist", None)
                refs.append(
                    EntryPointRef(
                        name=ep.name,
                        value=ep.value,
                        distribution=dist.metadata["Name"] if dist is not None else None,
                        version=dist.version if dist is not None else None,
                        entry_point=ep,
                    )
                )
            # Two distributions may declare one name (a stale install); keep both, in order.
            _scan_cache = tuple(sorted(refs, key=lambda r: (r.name, r.distribution or "")))
        return _scan_cache


@attrs.define
class PluginRecord:
    """What the system knows about one plugin: where it came from and how loading went.

    ``status`` is ``"loaded"``, ``"failed"`` or ``"disabled"``; ``error`` says why for the
    last two. ``source`` is ``"builtin"``, ``"entry-point"`` or ``"explicit"``.
    """

    name: str
    source: str
    distribution: str | None = None
    version: str | None = None
    value: str | None = None
    hooks: tuple[str, ...] = ()
    status: str = "loaded"
    error: str | None = None
    plugin: Any = attrs.field(default=None, repr=False, eq=False)
    import_seconds: float | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.status == "loaded"

    @property
    def slow(self) -> bool:
        """True when importing the plugin took over :data:`SLOW_IMPORT_SECONDS`."""
        return self.import_seconds is not None and self.import_seconds > SLOW_IMPORT_SECONDS

    def fail(self, error: BaseException | str) -> None:
        message = error if isinstance(error, str) else _describe(error)
        self.status = "failed"
        self.error = message if self.error is None else f"{self.error}; {message}"

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data, the shape ``hybrid plugins --json`` prints."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "source": self.source,
            "value": self.value,
            "hooks": list(self.hooks),
            "status": self.status,
            "error": self.error,
            "import_seconds": (
                None if self.import_seconds is None else round(self.import_seconds, 3)
            ),
        }


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PluginError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@attrs.frozen
class Selection:
    """Which entry-point plugins to load: ``only`` (None means all) minus ``disable``."""

    only: tuple[str, ...] | None = None
    disable: tuple[str, ...] = ()
    origin: str = "config"

    @classmethod
    def resolve(
        cls,
        only: Sequence[str] | None,
        disable: Sequence[str],
        env: Mapping[str, str],
    ) -> Selection:
        """The environment variable, when set, replaces the config's ``only`` list."""
        if ENV_VAR in env:
            names = tuple(n.strip() for n in env[ENV_VAR].split(",") if n.strip())
            return cls(names, tuple(disable), f"environment variable {ENV_VAR}")
        return cls(None if only is None else tuple(only), tuple(disable), "[plugins] only")


class PluginManager:
    """Loads plugins into a pluggy manager and calls their hooks one plugin at a time."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}

    # -- loading --------------------------------------------------------------------------

    def add(
        self,
        plugin: object,
        name: str,
        *,
        source: str,
        distribution: str | None = None,
        version: str | None = None,
        value: str | None = None,
    ) -> PluginRecord:
        """Register ``plugin``; a malformed one is recorded as failed, never raised."""
        record = self._new_record(name, source, distribution, version, value)
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            record.fail(PluginValidationError(name, _pluggy_message(exc)))
            return record
        record.plugin = plugin
        callers = self._pm.get_hookcallers(plugin) or []
        record.hooks = tuple(sorted(hc.name for hc in callers))
        unknown = [h for h in record.hooks if h not in HOOK_NAMES]
        if not record.hooks:
            record.fail(
                PluginValidationError(
                    name, "implements no hook; mark functions with @hybrid_core.hookimpl"
                )
            )
        for hook in unknown:
            record.fail(
                PluginValidationError(name, f"implements unknown hook {hook!r}{_hint(hook)}")
            )
        if not record.ok:
            self._pm.unregister(plugin)
        return record

    def add_entry_point(self, ref: EntryPointRef) -> PluginRecord:
        """Import an entry point's object and register it under the entry point's name."""
        started = time.perf_counter()
        try:
            plugin = ref.load()
        except PLUGIN_FAULTS as exc:
            reraise_interrupt(exc)
            record = self._new_record(
                ref.name, "entry-point", ref.distribution, ref.version, ref.value
            )
            error = PluginLoadError(ref.name, f"failed to import {ref.value!r}: {_describe(exc)}")
            error.__cause__ = exc
            record.fail(error)
        else:
            record = self.add(
                plugin,
                ref.name,
                source="entry-point",
                distribution=ref.distribution,
                version=ref.version,
                value=ref.value,
            )
        record.import_seconds = time.perf_counter() - started
        if record.slow:
            from .._core.log import logger

            logger.warning(
                "plugin {!r} took {:.2f} s to import (every command pays it; over {} s)",
                record.name,
                record.import_seconds,
                SLOW_IMPORT_SECONDS,
            )
        return record

    def record_missing(self, name: str, installed: Iterable[str], origin: str) -> None:
        """Record a plugin that the selection names but that is not installed."""
        names = sorted(set(installed))
        hint = close_matches(name, names)
        tail = (
            f"did you mean {hint[0]!r}?"
            if hint
            else (f"installed: {', '.join(names)}" if names else "no plugin is installed")
        )
        record = self._new_record(name, "entry-point", None, None, None)
        record.fail(
            PluginLoadError(
                name,
                f"is named by {origin} but not installed ({tail}); "
                f"pip install it or remove it from {origin}",
            )
        )

    def record_disabled(self, ref: EntryPointRef, why: str) -> None:
        record = self._new_record(ref.name, "entry-point", ref.distribution, ref.version, ref.value)
        record.status, record.error = "disabled", why

    def _new_record(
        self,
        name: str,
        source: str,
        distribution: str | None,
        version: str | None,
        value: str | None,
    ) -> PluginRecord:
        record = PluginRecord(name, source, distribution, version, value)
        previous = self.records.get(name)
        if previous is not None and previous.status != "disabled":
            record.fail(
                PluginLoadError(
                    name,
                    f"the name is already taken by a plugin from "
                    f"{previous.distribution or previous.source!r}; uninstall one of them",
                )
            )
            # Keep the first one; show the clash under a distinct key.
            self.records[f"{name} ({distribution or source})"] = record
            return record
        self.records[name] = record
        return record

    # -- calling hooks --------------------------------------------------------------------

    def loaded(self) -> list[PluginRecord]:
        """Records of plugins that loaded and have not failed since, in load order."""
        return [r for r in self.records.values() if r.ok]

    def call(self, record: PluginRecord, hook: str, kwargs: Mapping[str, Any] | None = None) -> Any:
        """Call one plugin's implementation of ``hook``; wrap anything it raises."""
        impl = self._impl(record, hook)
        if impl is None:
            return None
        args = [(kwargs or {})[a] for a in impl.argnames]
        try:
            return impl.function(*args)
        except PLUGIN_FAULTS as exc:
            reraise_interrupt(exc)
            error = PluginHookError(record.name, hook, f"raised {_describe(exc)}")
            raise error from exc

    def implements(self, record: PluginRecord, hook: str) -> bool:
        return hook in record.hooks

    def _impl(self, record: PluginRecord, hook: str) -> pluggy.HookImpl | None:
        if hook not in record.hooks:
            return None
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin is record.plugin:
                return impl
        return None

    def collect(
        self,
        record: PluginRecord,
        hook: str,
        check: Callable[[object], str | None],
        kwargs: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """Call a collection hook and check each returned item; raise on anything wrong.

        ``check(item)`` returns None for a good item, or a sentence saying what is wrong.
        """
        if not self.implements(record, hook):
            return []
        result = self.call(record, hook, kwargs)
        if (
            result is None
            or isinstance(result, (str, bytes, Mapping))
            or not isinstance(result, (list, tuple))
        ):
            raise PluginValidationError(
                record.name,
                f"hook {hook}() returned {_short(result)}; it must return a list "
                "(an empty one when there is nothing to give)",
            )
        problems = [
            f"item {i} ({_short(item)}) {msg}"
            for i, item in enumerate(result)
            if (msg := check(item)) is not None
        ]
        if problems:
            raise PluginValidationError(
                record.name, f"hook {hook}() returned bad items: " + "; ".join(problems)
            )
        return list(result)

    def unregister(self, record: PluginRecord) -> None:
        if record.plugin is not None and self._pm.is_registered(record.plugin):
            self._pm.unregister(record.plugin)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hint(hook: str) -> str:
    close = close_matches(hook, HOOK_NAMES)
    return f" (did you mean {close[0]!r}?)" if close else f" (hooks: {', '.join(HOOK_NAMES)})"


def _pluggy_message(exc: BaseException) -> str:
    text = str(exc)
    return text[0].lower() + text[1:] if text else type(exc).__name__
