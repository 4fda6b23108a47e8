"""hybrid_core_dask: run a system's calls on a Dask cluster.

The entry point ``dask`` of the group ``hybrid_core`` names this module.
:func:`hybrid_executors` gives one :class:`DaskExecutor`, configured by
``[executor.dask]``; ``[executor] name = "dask"`` makes the system use it. A host can
build ``DaskExecutor(...)`` itself and give it through a plugin of its own. Importing
this module does not import Dask; the first call does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hybrid_core

from ._executor import DaskExecutor
from ._settings import DaskSettings, read_settings
from ._version import __version__

__all__ = [
    "DaskExecutor",
    "DaskSettings",
    "__version__",
    "hybrid_executors",
    "hybrid_settings",
    "read_settings",
]


@hybrid_core.hookimpl
def hybrid_settings() -> Mapping[str, type]:
    """``[executor.dask]``'s keys and types, which hybrid_core checks with the file."""
    return {"executor.dask": DaskSettings}


@hybrid_core.hookimpl
def hybrid_executors(settings: Mapping[str, Any]) -> Sequence[hybrid_core.Executor]:
    """The ``dask`` executor, with ``[executor.dask]`` checked (nothing starts yet)."""
    return [DaskExecutor(read_settings(settings.get("dask")))]
