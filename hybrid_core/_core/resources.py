"""Resource pools: what a call needs (``cpu = 1``, ``memory_mb = 512``), granted fairly.

A call acquires all of its needs, pool by pool, in one fixed global order (sorted pool
names), so two calls can never each hold what the other waits for: no deadlock. Each
pool serves its waiters first come, first served, even when a later, smaller request
would fit now: no starvation of large requests. Everything acquired is released on
success, error and cancellation alike.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType

from ..exceptions import ResourceError

__all__ = ["Pool", "ResourcePools"]


class Pool:
    """A weighted, FIFO semaphore of ``size`` units."""

    __slots__ = ("_waiters", "free", "name", "size")

    def __init__(self, name: str, size: float) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise TypeError(f"resource pool {name!r}: size must be a number, not {size!r}")
        if not math.isfinite(size) or size <= 0:
            raise ValueError(f"resource pool {name!r}: size must be finite and > 0, not {size}")
        self.name = name
        self.size = float(size)
        self.free = float(size)
        self._waiters: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, amount: float) -> None:
        """Take ``amount`` units, waiting in line if they are not free or others wait."""
        if amount > self.size:
            raise ResourceError(self.name, amount, self.size)
        if not self._waiters and self.free >= amount:
            self.free -= amount
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (amount, future)
        self._waiters.append(entry)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                # Granted just as we were cancelled: give the units back.
                self.release(amount)
            else:
                self._waiters.remove(entry)
                self._wake()
            raise

    def release(self, amount: float) -> None:
        self.free = min(self.size, self.free + amount)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            amount, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            if self.free < amount:
                return
            self._waiters.popleft()
            self.free -= amount
            future.set_result(None)

    def __repr__(self) -> str:
        return f"<Pool {self.name} {self.free:g}/{self.size:g} waiting={self.waiting}>"


WaitReporter = Callable[[str, float, float], None]


class ResourcePools:
    """The system's pools by name. Needs on a pool that is not declared are not limited."""

    def __init__(self, sizes: Mapping[str, float] | None = None) -> None:
        self._pools: dict[str, Pool] = {}
        for name, size in (sizes or {}).items():
            self.add(name, size)

    def add(self, name: str, size: float) -> Pool:
        if not isinstance(name, str) or not name:
            raise TypeError(f"resource pool names must be non-empty strings, not {name!r}")
        if name in self._pools:
            raise ValueError(f"resource pool {name!r} is declared twice")
        pool = self._pools[name] = Pool(name, size)
        return pool

    def get(self, name: str) -> Pool | None:
        return self._pools.get(name)

    @property
    def sizes(self) -> Mapping[str, float]:
        return MappingProxyType({n: p.size for n, p in self._pools.items()})

    def free(self) -> dict[str, float]:
        """Free units per pool, now."""
        return {n: p.free for n, p in self._pools.items()}

    def check(self, needs: Mapping[str, float], owner: str) -> None:
        """Raise ResourceError if a need can never be met (larger than its whole pool)."""
        for name, amount in needs.items():
            pool = self._pools.get(name)
            if pool is not None and amount > pool.size:
                raise ResourceError(name, amount, pool.size, owner=owner)

    def fits_now(self, needs: Mapping[str, float]) -> bool:
        """True when every need could be granted at once without waiting."""
        for name, amount in needs.items():
            pool = self._pools.get(name)
            if pool is not None and (pool.free < amount or pool.waiting):
                return False
        return True

    def headroom(self, needs: Mapping[str, float]) -> float:
        """The smallest fraction of a pool left free after granting ``needs`` (may be < 0)."""
        worst = 1.0
        for name, amount in needs.items():
            pool = self._pools.get(name)
            if pool is not None:
                worst = min(worst, (pool.free - amount) / pool.size)
        return worst

    @asynccontextmanager
    async def hold(
        self,
        needs: Mapping[str, float],
        *,
        extra: Pool | None = None,
        on_wait: WaitReporter | None = None,
    ) -> AsyncIterator[None]:
        """Hold ``needs`` (plus one unit of ``extra``, a concurrency limit) for the block.

        ``on_wait(pool, amount, seconds)`` is called for each pool the call had to wait on.
        """
        plan: list[tuple[Pool, float]] = [
            (pool, amount)
            for name, amount in sorted(needs.items())
            if amount > 0 and (pool := self._pools.get(name)) is not None
        ]
        if extra is not None:
            plan.append((extra, 1.0))
            plan.sort(key=lambda item: item[0].name)
        taken: list[tuple[Pool, float]] = []
        try:
            for pool, amount in plan:
                if on_wait is not None and (pool.waiting or pool.free < amount):
                    started = time.monotonic()
                    await pool.acquire(amount)
                    on_wait(pool.name, amount, time.monotonic() - started)
                else:
                    await pool.acquire(amount)
                taken.append((pool, amount))
            yield
        finally:
            for pool, amount in reversed(taken):
                pool.release(amount)

    def __contains__(self, name: object) -> bool:
        return name in self._pools

    def __repr__(self) -> str:
        return f"<ResourcePools {list(self._pools.values())!r}>"
