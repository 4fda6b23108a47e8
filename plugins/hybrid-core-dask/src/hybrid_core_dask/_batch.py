"""Calls submitted in one turn of the client's loop, sent to the scheduler as one graph.

``client.submit`` sends each call as its own graph (one ``update_graph`` each, which the
client builds and the scheduler unpacks); ``client.map`` sends many as one. A
:class:`Batcher` collects the calls that one turn of the client's loop submits (a map's
first elements, or the several that a batch of results set free) and hands them to
``client.map``, one per set of placement options, each still with its own key. A call
cancelled before its turn ends is never sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any

from ._remote import run_call

__all__ = ["Batcher"]


def _group(options: Mapping[str, Any]) -> Hashable:
    """Calls with equal placement options can share one ``client.map``."""
    resources = options.get("resources")
    workers = options.get("workers")
    return (
        tuple(sorted(resources.items())) if resources else None,
        tuple(workers) if workers else None,
        bool(options.get("allow_other_workers")),
    )


class Batcher:
    """One per client; :meth:`submit` is called on the client's loop."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._pending: list[tuple[bytes, str, Mapping[str, Any], asyncio.Future[Any]]] = []

    def submit(self, blob: bytes, key: str, options: Mapping[str, Any]) -> asyncio.Future[Any]:
        """A future of the Dask future that runs ``run_call(blob)`` under ``key``."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)  # after every call this turn has started
        self._pending.append((blob, key, options, waiter))
        return waiter

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        # Placement options -> the calls sharing them (the options of the first one).
        groups: dict[Hashable, tuple[Mapping[str, Any], list[Any]]] = {}
        for blob, key, options, waiter in pending:
            if not waiter.cancelled():
                groups.setdefault(_group(options), (options, []))[1].append((blob, key, waiter))
        for options, calls in groups.values():
            try:
                futures = self._client.map(
                    run_call, [blob for blob, _, _ in calls], key=[key for _, key, _ in calls],
                    pure=False, retries=0, **options,
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - each caller gets why
                for _, _, waiter in calls:
                    waiter.set_exception(exc)
                continue
            for (_, _, waiter), future in zip(calls, futures, strict=True):
                if waiter.cancelled():
                    future.release()
                else:
                    waiter.set_result(future)
