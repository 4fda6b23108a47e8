"""The durable run journal: a SQLite store of runs and step outcomes, and its codecs.

Knows nothing of workflows: the runner (``_workflow``) hands it paths, statuses and
encoded values. May import ``_telemetry`` and the layers below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import Codec, JsonCodec, PickleCodec, builtin_codecs

if TYPE_CHECKING:
    from .store import DONE_STATUSES, DURABILITY, Journal, RunRow, RunWriter, StepRow

_STORE = ("DONE_STATUSES", "DURABILITY", "Journal", "RunRow", "RunWriter", "StepRow")


def __getattr__(name: str) -> Any:
    # The store (and sqlite3) loads when a journal is first used, not with the runner.
    if name in _STORE:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DONE_STATUSES",
    "DURABILITY",
    "Codec",
    "Journal",
    "JsonCodec",
    "PickleCodec",
    "RunRow",
    "RunWriter",
    "StepRow",
    "builtin_codecs",
]
