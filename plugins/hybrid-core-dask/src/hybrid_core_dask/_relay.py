"""Coroutines run on the Dask client's loop, their outcomes handed back in batches.

The client's loop runs in a thread of its own; with a LocalCluster, the scheduler shares
it, and both share the driver's GIL with the system's loop. Waking the other thread once
per call each way (``run_coroutine_threadsafe``, then the result's hand-back) made the
two loops take turns at every call; a :class:`Relay` wakes each side once per batch: the
calls a loop turn submits start together, and the outcomes that arrive together go back
together.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Job", "Relay"]


class Job:
    """One coroutine sent through a :class:`Relay`; ``outcome`` is awaited by the caller."""

    __slots__ = ("cancelled", "loop", "make", "outcome", "task")

    def __init__(
        self,
        make: Callable[[], Coroutine[Any, Any, Any]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.make = make
        self.loop = loop
        self.outcome: asyncio.Future[Any] = loop.create_future()
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False  # read and written on the target loop only


class Relay:
    """Runs coroutines on ``target`` (another thread's loop) for callers on their loops.

    ``lost()`` builds the error a caller gets when its coroutine ends without an outcome
    (the target loop stopped, or :meth:`close` was called).
    """

    def __init__(
        self, target: asyncio.AbstractEventLoop, lost: Callable[[], BaseException]
    ) -> None:
        self._target = target
        self._lost = lost
        self._lock = threading.Lock()
        self._outbox: list[Job] = []
        self._inbox: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        self._open: set[Job] = set()  # sent, outcome not yet handed back
        self._sending: set[asyncio.AbstractEventLoop] = set()  # callers' loops to send
        self._closed = False

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Job:
        """Send ``make()`` to the target loop; await the job's ``outcome``.

        Called on the caller's running loop. Raises RuntimeError when the target loop
        is closed (nothing was sent).
        """
        job = Job(make, asyncio.get_running_loop())
        with self._lock:
            if self._closed or self._target.is_closed():
                raise RuntimeError("the relay is closed")
            self._outbox.append(job)
            self._open.add(job)
            first = job.loop not in self._sending
            self._sending.add(job.loop)
        if first:  # sent when this turn of the caller's loop ends, with what it adds
            job.loop.call_soon(self._send, job.loop)
        return job

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._sending.discard(loop)
            if not self._outbox:
                return  # another caller's loop sent them
        try:
            self._target.call_soon_threadsafe(self._start)
        except RuntimeError:  # the target loop closed since: nothing will run them
            with self._lock:
                jobs, self._outbox = self._outbox, []
                self._open.difference_update(jobs)
            for job in jobs:
                self._hand_back(job.loop, [job], failed=True)

    def cancel(self, job: Job) -> None:
        """The caller gave up on ``job``: cancel its coroutine where it runs."""
        with self._lock:
            self._open.discard(job)
        with contextlib.suppress(RuntimeError):  # a closed target loop took it along
            self._target.call_soon_threadsafe(self._cancel, job)

    def close(self) -> None:
        """Fail every job still open with ``lost()`` and cancel its coroutine; later
        :meth:`run` calls raise."""
        with self._lock:
            self._closed = True
            jobs, self._open = list(self._open), set()
            self._outbox.clear()
        for job in jobs:
            self._hand_back(job.loop, [job], failed=True)
            with contextlib.suppress(RuntimeError):
                self._target.call_soon_threadsafe(self._cancel, job)

    # -- on the target loop ---------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            jobs, self._outbox = self._outbox, []
        for job in jobs:
            if job.cancelled:
                continue
            task = job.task = self._target.create_task(job.make())
            task.add_done_callback(lambda _, job=job: self._done(job))

    def _cancel(self, job: Job) -> None:
        job.cancelled = True
        if job.task is not None:
            job.task.cancel()

    def _done(self, job: Job) -> None:
        with self._lock:
            if job not in self._open:
                return  # cancelled by its caller, or failed by close()
            box = self._inbox.setdefault(job.loop, [])
            box.append(job)
            first = len(box) == 1
        if first:
            self._hand_back(job.loop, None)

    # -- on the caller's loop -------------------------------------------------------------

    def _hand_back(
        self, loop: asyncio.AbstractEventLoop, jobs: list[Job] | None, *, failed: bool = False
    ) -> None:
        try:
            loop.call_soon_threadsafe(self._deliver, loop, jobs, failed)
        except RuntimeError:  # the caller's loop is closed: nobody waits any more
            with self._lock:
                self._inbox.pop(loop, None)

    def _deliver(
        self, loop: asyncio.AbstractEventLoop, jobs: list[Job] | None, failed: bool
    ) -> None:
        if jobs is None:
            with self._lock:
                jobs = self._inbox.pop(loop, [])
                self._open.difference_update(jobs)
        for job in jobs:
            outcome, task = job.outcome, job.task
            if outcome.done():
                continue  # its caller was cancelled
            if failed or task is None or task.cancelled():
                outcome.set_exception(self._lost())
            elif (error := task.exception()) is not None:
                outcome.set_exception(error)
            else:
                outcome.set_result(task.result())
