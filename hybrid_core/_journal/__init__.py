"""The durable run journal: a SQLite store of runs and step outcomes, and its codecs.

Knows nothing of workflows: the runner (``_workflow``) hands it paths, statuses and
encoded values. May import ``_telemetry`` and the layers below it.
"""

from __future__ import annotations

from .codec import Codec, JsonCodec, PickleCodec, builtin_codecs
from .store import DONE_STATUSES, DURABILITY, Journal, RunRow, RunWriter, StepRow

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
