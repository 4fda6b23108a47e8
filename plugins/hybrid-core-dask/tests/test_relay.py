"""The relay between the system's loop and the Dask client's: a real second thread and loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from hybrid_core_dask._relay import Relay


class Lost(Exception):
    pass


@pytest.fixture
def target() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_outcomes_come_back_to_their_callers_with_their_types(
    target: asyncio.AbstractEventLoop,
) -> None:
    relay = Relay(target, Lost)
    seen: list[asyncio.AbstractEventLoop] = []

    async def work(i: int) -> int:
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0.001 * (i % 3))
        if i % 7 == 6:
            raise KeyError(i)
        return i * 2

    async def main() -> list[object]:
        jobs = [relay.run(lambda i=i: work(i)) for i in range(50)]
        return await asyncio.gather(*(j.outcome for j in jobs), return_exceptions=True)

    got = asyncio.run(main())
    assert [g for g in got if not isinstance(g, KeyError)] == [
        i * 2 for i in range(50) if i % 7 != 6
    ]
    assert [g.args[0] for g in got if isinstance(g, KeyError)] == [6, 13, 20, 27, 34, 41, 48]
    assert set(seen) == {target}  # every coroutine ran on the target loop


def test_a_cancelled_caller_cancels_the_coroutine_where_it_runs(
    target: asyncio.AbstractEventLoop,
) -> None:
    relay = Relay(target, Lost)
    started, stopped = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    async def main() -> None:
        job = relay.run(forever)
        waiter = asyncio.ensure_future(job.outcome)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        relay.cancel(job)

    asyncio.run(main())
    assert stopped.wait(5)


def test_close_fails_what_is_still_open_and_refuses_more(
    target: asyncio.AbstractEventLoop,
) -> None:
    relay = Relay(target, Lost)

    stopped = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()

    async def main() -> None:
        job = relay.run(forever)
        await asyncio.sleep(0.05)
        await asyncio.get_running_loop().run_in_executor(None, relay.close)
        with pytest.raises(Lost):
            await asyncio.wait_for(job.outcome, 5)
        with pytest.raises(RuntimeError):
            relay.run(lambda: asyncio.sleep(0))

    asyncio.run(main())
    assert stopped.wait(5)  # the coroutine was cancelled where it ran, not left pending


def test_a_stopped_target_loop_is_refused_at_once() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    relay = Relay(loop, Lost)

    async def main() -> None:
        with pytest.raises(RuntimeError):
            relay.run(lambda: asyncio.sleep(0))
        with pytest.raises(RuntimeError):  # and stays consistent: nothing was left queued
            relay.run(lambda: asyncio.sleep(0))

    asyncio.run(main())
