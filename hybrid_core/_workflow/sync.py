"""Running a coroutine to completion from synchronous code, with or without a running loop."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


async def _await(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run ``factory()`` (which returns an awaitable) to completion and return its result.

    With no event loop running in this thread, it runs in a new loop here. When a loop is
    already running (a notebook, an async web handler), it runs in a new loop on a worker
    thread while this thread waits, so the caller's loop is blocked meanwhile; objects
    bound to the caller's loop (its locks, queues, futures) cannot be used by the work.
    From async code, prefer awaiting the async twin instead. Context variables are copied
    to the worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(factory))
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="hybrid-run-sync") as pool:
        return pool.submit(context.run, asyncio.run, _await(factory)).result()
