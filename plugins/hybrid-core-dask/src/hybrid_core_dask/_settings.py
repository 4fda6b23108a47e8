"""``[executor.dask]``: reading and checking the executor's options.

:class:`DaskSettings` is the table's schema: the plugin's ``hybrid_settings()`` gives it
to hybrid_core, which reports unknown keys and values of the wrong type with the rest of
the file before the executor is built. Every problem is reported at once, as a
:class:`hybrid_core.ConfigError` whose problems
name the key (``executor.dask.n_workers: must be ...``, ``executor.dask.adress: unknown
setting (did you mean 'address'?)``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from hybrid_core import ConfigError, ConfigProblem

__all__ = ["DaskSettings", "read_settings"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class DaskSettings:
    """The executor's options; the defaults are those of ``[executor.dask]`` left empty.

    ``address`` names a running scheduler (``tcp://10.0.0.5:8786``); with none, a
    ``LocalCluster`` on 127.0.0.1 is started on first use with ``n_workers`` worker
    processes (None: one per core) of ``threads_per_worker`` threads, each limited to
    ``memory_limit`` (Dask's ``"auto"``: the machine's memory shared out; a number of
    bytes or a string such as ``"4GiB"``), with no dashboard unless
    ``dashboard_address`` asks for one. ``resources`` maps a hybrid resource pool onto
    a Dask worker resource (``{"cpu": "cpu"}``): a call needing ``cpu = 1`` then asks
    Dask for one unit of the workers' ``cpu``; pools it does not name are not sent.
    ``connect_timeout`` bounds reaching the scheduler (and starting a LocalCluster),
    ``close_timeout`` closing.
    """

    address: str | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    processes: bool = True
    memory_limit: str | int | None = "auto"
    resources: Mapping[str, str] = _EMPTY
    connect_timeout: float = 10.0
    close_timeout: float = 10.0
    dashboard_address: str | None = None


# The keys are the fields: hybrid_settings() gives the class to hybrid_core, which checks
# a user's table against it with the rest of the file; read_settings() checks the values.
_KEYS = tuple(f.name for f in attrs.fields(DaskSettings))


def _hint(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


class _Check:
    def __init__(self, table: Mapping[str, Any]) -> None:
        self.table = table
        self.problems: list[ConfigProblem] = []
        self.values: dict[str, Any] = {}

    def bad(self, key: str, message: str) -> None:
        self.problems.append(ConfigProblem("", f"executor.dask.{key}", message))

    def take(self, key: str, ok: bool, message: str) -> None:
        if key not in self.table:
            return
        if ok:
            self.values[key] = self.table[key]
        else:
            self.bad(key, f"{message}, not {self.table[key]!r}")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value > 0


def _check(check: _Check) -> None:
    table = check.table
    for key in table:
        if key not in _KEYS:
            check.bad(str(key), f"unknown setting{_hint(str(key), _KEYS)}")
    address = table.get("address")
    if address == "":  # "${HYBRID_DASK_ADDRESS:-}" unset: a LocalCluster
        table = check.table = {k: v for k, v in table.items() if k != "address"}
    check.take("address", isinstance(address, str) and "://" in address,
               "must be a scheduler address such as 'tcp://127.0.0.1:8786'")  # fmt: skip
    check.take("n_workers", _count(table.get("n_workers")), "must be a whole number >= 1")
    check.take("threads_per_worker", _count(table.get("threads_per_worker")),
               "must be a whole number >= 1")  # fmt: skip
    check.take("processes", isinstance(table.get("processes"), bool), "must be true or false")
    limit = table.get("memory_limit")
    sized = (isinstance(limit, str) and bool(limit.strip())) or _count(limit)
    check.take("memory_limit", sized,
               "must be 'auto', a number of bytes or a size such as '4GiB'")  # fmt: skip
    for key in ("connect_timeout", "close_timeout"):
        check.take(key, _seconds(table.get(key)), "must be a number of seconds > 0")
    dashboard = table.get("dashboard_address")
    check.take("dashboard_address", isinstance(dashboard, str) and bool(dashboard),
               "must be an address such as ':8787'")  # fmt: skip
    _check_resources(check, table.get("resources"))
    if "address" in check.values:
        local_only = [k for k in ("n_workers", "threads_per_worker", "processes", "memory_limit",
                                  "dashboard_address") if k in table]  # fmt: skip
        for key in local_only:
            check.bad(key, "applies to the LocalCluster started when no address is given; "
                      "remove it, or the address")  # fmt: skip


def _check_resources(check: _Check, resources: object) -> None:
    if resources is None:
        return
    if not isinstance(resources, Mapping):
        check.bad("resources", "must be a table mapping a hybrid resource pool onto a Dask "
                  f'worker resource, e.g. {{ cpu = "cpu" }}, not {resources!r}')  # fmt: skip
        return
    good = {}
    for pool, name in resources.items():
        if isinstance(name, str) and name.strip() and pool:
            good[str(pool)] = name
        else:
            check.bad(f"resources.{pool}", f"must name a Dask worker resource, not {name!r}")
    check.values["resources"] = MappingProxyType(good)


def read_settings(table: object) -> DaskSettings:
    """Check ``[executor.dask]`` (a mapping, or None when absent) and return its settings.

    Raises ConfigError listing every problem.
    """
    if table is None:
        return DaskSettings()
    if not isinstance(table, Mapping):
        raise ConfigError([ConfigProblem("", "executor.dask", "must be a table of settings")])
    check = _Check(table)
    _check(check)
    if check.problems:
        raise ConfigError(check.problems)
    values = dict(check.values)
    for key in ("connect_timeout", "close_timeout"):
        if key in values:
            values[key] = float(values[key])
    return DaskSettings(**values)
