"""The built-in plugin: the local executor, strategies, sinks and journal codecs.

It is registered through the same hooks as any third-party plugin, so everything it gives
can be listed, replaced or disabled the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._config.load import ExecutorConfig
from .._execution.executor import Executor, LocalExecutor
from .._journal.codec import Codec, JsonCodec, PickleCodec
from .._markers import hookimpl
from .._routing.strategies import RoutingStrategy, builtin_strategies
from .._telemetry.builtin import BUILTIN_SINKS, build_sinks
from .._telemetry.bus import Sink

__all__ = ["BUILTIN_SINKS", "BuiltinPlugin"]


class BuiltinPlugin:
    """Hook implementations for what ships in the core; one instance per system."""

    def __init__(self, executor: ExecutorConfig) -> None:
        self._executor = executor

    @hookimpl
    def hybrid_executors(self) -> Sequence[Executor]:
        return [
            LocalExecutor(
                max_threads=self._executor.max_threads,
                max_processes=self._executor.max_processes,
                close_grace=self._executor.close_grace,
            )
        ]

    @hookimpl
    def hybrid_journal_codecs(self) -> Sequence[Codec]:
        return [JsonCodec(), PickleCodec()]

    @hookimpl
    def hybrid_routing_strategies(self) -> Sequence[RoutingStrategy]:
        return builtin_strategies()

    @hookimpl
    def hybrid_telemetry_sinks(self, settings: Mapping[str, Any]) -> Sequence[Sink]:
        return build_sinks(settings)

    def __repr__(self) -> str:
        return "<BuiltinPlugin>"
