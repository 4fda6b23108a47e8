"""``ExecutorContract``: what every executor promises, with real threads and processes."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from .._execution.executor import Call, Executor, Where
from . import _samples

__all__ = ["ExecutorContract"]

T = TypeVar("T")


class ExecutorContract:
    """The behaviours every executor promises; subclass it and give it yours.

    Subclass it in a test module, name the subclass ``Test...`` and define an
    ``executor`` fixture returning a fresh executor for each test; the suite closes it
    (with ``aclose()``) at the end of each test::

        class TestMyExecutor(ExecutorContract):
            @pytest.fixture
            def executor(self):
                return MyExecutor(workers=2)

    The suite submits :class:`~hybrid_core.Call` objects of functions that ship inside
    ``hybrid_core.testing`` (so workers on another machine need hybrid_core installed,
    as they do to run any engine) and checks that thread and process calls return their result, with
    positional and keyword arguments; that an exception comes back with its type and
    message (a builtin one and one of the suite's own); that cancelling the awaiting
    task stops the wait promptly and leaves the executor usable; that ``aclose()`` may be
    called twice; and that after it no thread this executor started is left running and
    no worker process that ran a call is still alive.

    Class attributes a subclass may set:

    ``supports_process = False``
        the executor does not run ``where="process"`` calls; those checks are skipped.
    ``cancel_timeout = 5.0``
        seconds a cancelled wait may take to end.
    ``close_timeout = 30.0``
        seconds after ``aclose()`` for threads and worker processes to be gone.
    ``owns_workers = False``
        the calls run on workers someone else started and keeps running (a cluster
        reached by address); only the executor's own threads must then be gone.
    """

    supports_process: ClassVar[bool] = True
    owns_workers: ClassVar[bool] = True
    cancel_timeout: ClassVar[float] = 5.0
    close_timeout: ClassVar[float] = 30.0

    def _places(self) -> tuple[Where, ...]:
        return ("thread", "process") if self.supports_process else ("thread",)

    def _need_process(self) -> None:
        if not self.supports_process:
            pytest.skip("supports_process = False: the executor runs no process calls")

    def _run(self, executor: Executor, body: Callable[[], Awaitable[T]]) -> T:
        """Run ``body`` on a fresh event loop, then close the executor on that loop."""

        async def main() -> T:
            try:
                return await body()
            finally:
                await executor.aclose()

        return asyncio.run(main())

    def test_has_a_name_asubmit_and_aclose(self, executor: Executor) -> None:
        try:
            name = getattr(executor, "name", None)
            assert isinstance(name, str) and name, f"{executor!r} has no 'name' string"
            for method in ("asubmit", "aclose"):
                assert callable(getattr(executor, method, None)), f"{name!r} lacks {method}()"
        finally:
            asyncio.run(executor.aclose())

    def test_runs_a_thread_call(self, executor: Executor) -> None:
        async def body() -> list[Any]:
            return [
                await executor.asubmit(Call(_samples.add, (2, 3))),
                await executor.asubmit(Call(_samples.add, (2,), {"b": 40})),
            ]

        assert self._run(executor, body) == [5, 42]

    def test_runs_a_process_call(self, executor: Executor) -> None:
        self._need_process()

        async def body() -> list[Any]:
            return [
                await executor.asubmit(Call(_samples.add, (2, 3), where="process")),
                await executor.asubmit(Call(_samples.add, (2,), {"b": 40}, where="process")),
                await executor.asubmit(Call(_samples.upper, ("x",), where="process", key="r/a#1")),
            ]

        assert self._run(executor, body) == [5, 42, "X"]

    def test_runs_calls_at_once(self, executor: Executor) -> None:
        async def body() -> list[Any]:
            calls = [Call(_samples.add, (i, i), where=w) for i in range(8) for w in self._places()]
            return list(await asyncio.gather(*map(executor.asubmit, calls)))

        got = self._run(executor, body)
        assert got == [2 * i for i in range(8) for _ in self._places()]

    def test_propagates_exceptions_with_their_type(self, executor: Executor) -> None:
        async def body() -> None:
            for where in self._places():
                with pytest.raises(_samples.ContractError, match="its own"):
                    await executor.asubmit(Call(_samples.fail, ("its own",), where=where))
                with pytest.raises(LookupError, match="a builtin"):
                    await executor.asubmit(Call(_samples.fail_builtin, ("a builtin",), where=where))

        self._run(executor, body)

    def test_honours_cancellation(self, executor: Executor, tmp_path: Path) -> None:
        async def body() -> None:
            for where in self._places():
                started, release = tmp_path / f"{where}.started", tmp_path / f"{where}.release"
                call = Call(_samples.wait_for_release, (str(started), str(release), 60.0),
                            where=where, key=f"contract/cancel-{where}#1")  # fmt: skip
                task = asyncio.ensure_future(executor.asubmit(call))
                try:
                    await _until(started.exists, 60.0, f"the {where} call did not start")
                    task.cancel()
                    await asyncio.wait({task}, timeout=self.cancel_timeout)
                    assert task.done(), (
                        f"the {where} call was cancelled, but its caller was still waiting "
                        f"{self.cancel_timeout} s later"
                    )
                    assert task.cancelled(), (
                        f"the cancelled {where} call ended with {_outcome(task)} instead of "
                        "CancelledError"
                    )
                finally:
                    release.touch()  # a call that could not be stopped ends now
                    if not task.done():
                        await asyncio.wait({task}, timeout=self.close_timeout)
                again = Call(_samples.add, (1, 1), where=where)
                assert await executor.asubmit(again) == 2, "unusable after a cancellation"

        self._run(executor, body)

    def test_close_is_idempotent(self, executor: Executor) -> None:
        async def body() -> None:
            await executor.asubmit(Call(_samples.add, (1, 1)))
            await executor.aclose()

        self._run(executor, body)  # and closes it a second time

    def test_close_without_any_call(self, executor: Executor) -> None:
        async def body() -> None:
            return None

        self._run(executor, body)

    def test_leaves_no_thread_or_process_behind(self, executor: Executor) -> None:
        before = {t.ident for t in threading.enumerate()}

        async def body() -> set[int]:
            await executor.asubmit(Call(_samples.add, (1, 2)))
            pids = set()
            if self.supports_process and self.owns_workers:
                for _ in range(3):
                    pids.add(await executor.asubmit(Call(_samples.pid, where="process")))
            return pids - {os.getpid()}

        workers = self._run(executor, body)
        until = time.monotonic() + self.close_timeout
        while time.monotonic() < until and (_new_threads(before) or _alive(workers)):
            time.sleep(0.05)
        left = [t.name for t in threading.enumerate() if t.ident not in before]
        assert not left, f"threads still running after aclose(): {left}"
        assert not _alive(workers), f"worker processes still alive after aclose(): {workers}"


async def _until(predicate: Callable[[], bool], seconds: float, message: str) -> None:
    until = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < until, message
        await asyncio.sleep(0.01)


def _outcome(task: asyncio.Future[Any]) -> str:
    error = task.exception()
    return f"{type(error).__name__}: {error}" if error else f"the result {task.result()!r}"


def _new_threads(before: set[int | None]) -> bool:
    return any(t.ident not in before for t in threading.enumerate())


def _alive(pids: set[int]) -> set[int]:
    """The pids among ``pids`` that still run (a zombie, already dead, does not count)."""
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                continue
            alive.add(pid)  # no /proc to read: alive as far as signals tell
            continue
        if state not in ("Z", "X"):
            alive.add(pid)
    return alive
