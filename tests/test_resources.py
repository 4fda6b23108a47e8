"""Resource pools: all-at-once acquisition, FIFO fairness, release on every path."""

from __future__ import annotations

import asyncio

import pytest

from hybrid_core import ResourceError
from hybrid_core._core.resources import Pool, ResourcePools


async def test_waiters_are_served_first_come_first_served() -> None:
    pool = Pool("cpu", 2)
    await pool.acquire(2)
    order: list[str] = []

    async def want(name: str, amount: float) -> None:
        await pool.acquire(amount)
        order.append(name)

    big = asyncio.create_task(want("big", 2))
    await asyncio.sleep(0)
    small = asyncio.create_task(want("small", 1))
    await asyncio.sleep(0)
    pool.release(1)  # one unit free: "small" would fit, but "big" is first in line
    await asyncio.sleep(0)
    assert order == []
    pool.release(1)
    await big
    assert order == ["big"]
    pool.release(2)
    await small
    assert order == ["big", "small"]


async def test_need_larger_than_pool_is_an_error_not_a_hang() -> None:
    pools = ResourcePools({"memory_mb": 100})
    with pytest.raises(ResourceError, match="needs 200 of resource pool 'memory_mb'"):
        pools.check({"memory_mb": 200}, owner="engine 'big'")
    with pytest.raises(ResourceError):
        await Pool("memory_mb", 100).acquire(200)


async def test_everything_is_released_on_error_and_cancellation() -> None:
    pools = ResourcePools({"cpu": 2, "gpu": 1})
    with pytest.raises(RuntimeError):
        async with pools.hold({"cpu": 2, "gpu": 1}):
            raise RuntimeError("boom")
    assert pools.free() == {"cpu": 2, "gpu": 1}

    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with pools.hold({"cpu": 1, "gpu": 1}):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold_forever())
    await entered.wait()
    waiting = asyncio.create_task(_hold(pools, {"gpu": 1}))
    await asyncio.sleep(0)
    task.cancel()
    waiting.cancel()
    await asyncio.gather(task, waiting, return_exceptions=True)
    assert pools.free() == {"cpu": 2, "gpu": 1}
    assert pools.get("gpu").waiting == 0  # type: ignore[union-attr]


async def _hold(pools: ResourcePools, needs: dict[str, float]) -> None:
    async with pools.hold(needs):
        await asyncio.sleep(3600)


async def test_opposite_orders_of_needs_cannot_deadlock() -> None:
    pools = ResourcePools({"a": 1, "b": 1})
    done: list[int] = []

    async def worker(i: int, needs: dict[str, float]) -> None:
        async with pools.hold(needs):
            await asyncio.sleep(0)
            done.append(i)

    jobs = [worker(i, {"a": 1, "b": 1} if i % 2 else {"b": 1, "a": 1}) for i in range(50)]
    await asyncio.wait_for(asyncio.gather(*jobs), 5)
    assert sorted(done) == list(range(50))


async def test_waits_are_reported_and_undeclared_pools_are_unlimited() -> None:
    pools = ResourcePools({"cpu": 1})
    waits: list[tuple[str, float, float]] = []

    async def job() -> None:
        async with pools.hold({"cpu": 1, "undeclared": 99}, on_wait=lambda *a: waits.append(a)):
            await asyncio.sleep(0.01)

    await asyncio.gather(job(), job())
    assert len(waits) == 1 and waits[0][0] == "cpu" and waits[0][2] > 0


def test_pool_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="size must be finite and > 0"):
        Pool("cpu", 0)
    with pytest.raises(ValueError, match="declared twice"):
        pools = ResourcePools({"cpu": 1})
        pools.add("cpu", 2)
