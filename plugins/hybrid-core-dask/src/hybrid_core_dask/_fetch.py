"""Results of finished Dask futures, fetched in batches, on the client's loop.

Awaiting a future one by one costs a gather (a round trip through the scheduler) per
future; Dask's own ``client.gather`` of many futures costs one. A :class:`Fetcher` sees
futures finish through ``distributed.as_completed`` and gathers all those that finished
together in one ``client.gather``. A future that did not finish well (an error, a lost
worker, a cancellation) is left to its caller, whose own ``await future`` raises what
it raised.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["OWN", "Fetcher"]

OWN: Any = object()  # the caller awaits the future itself: it did not finish well


class Fetcher:
    """One per client; :meth:`result` is called on the client's loop."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._waiting: dict[Any, tuple[Any, asyncio.Future[Any]]] = {}
        self._completed: Any = None  # the as_completed of the futures being waited for
        self._task: asyncio.Task[None] | None = None  # the one collecting from it

    def result(self, future: Any) -> asyncio.Future[Any]:
        """A future of ``future``'s result, or of :data:`OWN`."""
        from distributed import as_completed

        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[future.key] = (future, waiter)
        if self._completed is None:
            self._completed = as_completed([future], loop=self._client.loop)
            self._task = asyncio.ensure_future(self._collect(self._completed))
        else:
            self._completed.add(future)
        return waiter

    async def _collect(self, completed: Any) -> None:
        try:
            async for first in completed:
                await self._fetch([first, *completed.next_batch(block=False)])
        finally:
            if self._completed is completed:
                self._completed = None
            for _, waiter in self._waiting.values():  # only if this task itself failed
                if not waiter.done():
                    waiter.set_result(OWN)
            self._waiting.clear()

    async def _fetch(self, batch: list[Any]) -> None:
        found = [self._waiting.pop(f.key, (f, None)) for f in batch]
        waiting = [(f, w) for f, w in found if w is not None and not w.done()]
        ready = {f.key: f for f, _ in waiting if f.status == "finished"}
        values: dict[Any, Any] = {}
        if ready:
            try:
                values = await self._client.gather(ready, errors="skip", asynchronous=True)
            except Exception:  # noqa: BLE001 - each caller's own await says what went wrong
                values = {}
        for f, waiter in waiting:
            if waiter.done():
                continue
            if f.key in values and f.status == "finished":
                waiter.set_result(values[f.key])
            else:
                waiter.set_result(OWN)
