"""Executors: where a blocking callable runs, so that nothing blocks the event loop.

An executor takes a :class:`Call` (a callable with its arguments, picklable when the
callable and arguments are) and returns its result to the awaiting coroutine. The local
executor is the embedded default; a distributed one comes from a plugin through
``hybrid_executors()``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from .workers import Workers

__all__ = ["Call", "Executor", "LocalExecutor"]

Where = Literal["thread", "process"]
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class Call:
    """A callable and its arguments, to run somewhere else.

    ``where`` asks for a thread (blocking I/O, code that releases the GIL) or a process
    (CPU-bound Python). For ``"process"`` the callable must be importable by name and the
    arguments picklable. Calls with the same ``affinity`` (e.g. a file path) should run
    in the same worker where the executor can arrange it, so a worker-side cache (a parsed
    file, a loaded model) serves them all; an executor is free to ignore it.

    ``key`` names the attempt the call belongs to (``RUN/PATH#ATTEMPT``, with the engine
    for an engine call: ``RUN/files[3]/lint/pyast.lint#2``), for an executor that labels
    its work (a cluster's task key); None when the core has no step to name. It is a
    label, not an identity: an executor must not merge two calls that share it.
    ``resources`` are the per-call needs of an engine (``{"cpu": 1}``), which the core
    already holds from the system's pools; an executor may map them onto its own.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = _NO_KWARGS
    where: Where = "thread"
    affinity: Hashable | None = None
    key: str | None = None
    resources: Mapping[str, float] = attrs.field(factory=dict)

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


@runtime_checkable
class Executor(Protocol):
    """Runs :class:`Call` objects off the event loop.

    Two methods are optional, and the system looks for them by name: ``astart()``, awaited
    when the system starts with this executor chosen (an error stops the start: a cluster
    that cannot be reached), and ``describe()``, a mapping (or an awaitable of one) of
    what the executor runs on, for ``hybrid doctor``.
    """

    name: str

    async def asubmit(self, call: Call) -> Any:
        """Run ``call`` and return its result (or raise its exception)."""

    async def aclose(self) -> None:
        """Release workers; calls already submitted finish first."""


def _process_context() -> Any:
    import multiprocessing

    # fork is unsafe once threads exist (the thread pool, the host's own); forkserver starts
    # workers from a clean single-threaded server where the platform has it.
    if sys.platform != "win32" and "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """The embedded default: a bounded thread pool, and worker processes on request.

    Pools start on first use, so a system that never runs blocking work starts no thread
    and no process. Process calls honour :attr:`Call.affinity` (see :class:`.workers.Workers`).

    Closing waits at most ``close_grace`` seconds for calls still running (also those
    whose caller stopped waiting), then kills the worker processes that are still busy.
    A thread cannot be killed: a thread call that outlasts the grace is abandoned, and
    :attr:`abandoned` counts them, so a command line can exit without waiting for it.
    """

    def __init__(
        self,
        *,
        name: str = "local",
        max_threads: int | None = None,
        max_processes: int | None = None,
        close_grace: float = 10.0,
    ) -> None:
        cpus = os.cpu_count() or 1
        for what, value in (("max_threads", max_threads), ("max_processes", max_processes)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"LocalExecutor: {what} must be an int >= 1, not {value!r}")
        if (
            isinstance(close_grace, bool)
            or not isinstance(close_grace, (int, float))
            or not (0 <= close_grace < float("inf"))
        ):
            raise ValueError(
                f"LocalExecutor: close_grace must be a number of seconds >= 0, not {close_grace!r}"
            )
        self.name = name
        self.close_grace = float(close_grace)
        self.abandoned = 0
        self._running: set[Future[Any]] = set()
        self.max_threads = max_threads or min(32, cpus + 4)
        self.max_processes = max_processes or cpus
        self._threads: ThreadPoolExecutor | None = None
        self._workers: Workers | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            self._check_open()
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    self.max_threads, thread_name_prefix=f"hybrid-{self.name}"
                )
            return self._threads

    def _process_workers(self) -> Workers:
        with self._lock:
            self._check_open()
            if self._workers is None:
                # The process machinery (multiprocessing, its pickling and pipes) loads
                # with the first call that needs a worker process.
                from .workers import Workers

                self._workers = Workers(
                    self.max_processes, _process_context(), label=f"hybrid-{self.name}"
                )
            return self._workers

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"executor {self.name!r} is closed")

    async def asubmit(self, call: Call) -> Any:
        if call.where == "process":
            # A worker that dies (killed, out of memory, a crash in C code) fails the calls
            # it held with BrokenProcessPool; a fresh worker takes its place for later calls.
            workers = self._process_workers()
            return await workers.submit(call.fn, call.args, dict(call.kwargs), call.affinity)
        target: Callable[..., Any] = call if call.kwargs else call.fn
        args = () if call.kwargs else call.args
        running = self._thread_pool().submit(target, *args)
        self._running.add(running)
        running.add_done_callback(self._running.discard)
        return await asyncio.wrap_future(running)

    def describe(self) -> Mapping[str, Any]:
        """The pools' sizes, for ``hybrid doctor``."""
        return {"threads": self.max_threads, "processes": self.max_processes}

    def close(self) -> None:
        """Shut the pools down: running calls get ``close_grace`` seconds, then the busy
        worker processes are killed and thread calls still running are abandoned."""
        with self._lock:
            self._closed = True
            threads, workers = self._threads, self._workers
            self._threads = None  # the workers stay reachable for kill() while they close
        until = time.monotonic() + self.close_grace
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        if workers is not None:
            workers.close(grace=self.close_grace)
        with self._lock:
            self._workers = None
        if threads is not None:
            left = max(until - time.monotonic(), 0.0)
            _, still = wait_futures(list(self._running), timeout=left)
            self.abandoned += len(still)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def kill(self) -> None:
        """Kill the worker processes now, with no grace: for a process about to exit."""
        with self._lock:
            workers = self._workers
        if workers is not None:
            workers.kill()

    def __repr__(self) -> str:
        return (
            f"<LocalExecutor {self.name!r} threads={self.max_threads} "
            f"processes={self.max_processes}>"
        )
