"""The local executor's worker processes: results, failures, dead workers, affinity, close.

The callables are module level so that the worker processes can import them by name.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from hybrid_core import Call, LocalExecutor


def pid(*_: Any) -> int:
    return os.getpid()


def add(a: int, b: int = 0) -> int:
    return a + b


def echo(data: bytes) -> bytes:
    return data[::-1]


def slow(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)
    return value


def boom(message: str) -> None:
    raise ValueError(message)


def leave(code: int) -> None:
    os._exit(code)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def exit_politely() -> None:
    raise SystemExit(4)


def a_lock() -> threading.Lock:
    return threading.Lock()


def stop_early() -> None:
    raise StopIteration


def orphan_then_die(pid_file: str) -> None:
    """Fork a helper that keeps the worker's socket open, record its pid, then die."""
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    with open(pid_file, "w") as out:
        out.write(str(child))
    os._exit(7)


def start_a_process() -> int | None:
    import multiprocessing

    process = multiprocessing.get_context("fork").Process(target=os.getpid)
    process.start()
    process.join()
    return process.exitcode


class Stubborn(Exception):
    """An exception whose constructor needs two arguments, so unpickling it fails."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def raise_stubborn() -> None:
    raise Stubborn("x", "y")


class _Unpicklable(Exception):
    def __reduce__(self) -> Any:
        raise TypeError("no pickling for you")


def raise_unpicklable() -> None:
    raise _Unpicklable("deep trouble")


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(name="t", max_processes=2)
    yield ex
    ex.close()


def run(ex: LocalExecutor, fn: Any, *args: Any, affinity: Any = None, **kwargs: Any) -> Any:
    call = Call(fn, args, kwargs, where="process", affinity=affinity)
    return asyncio.run(ex.asubmit(call))


def test_calls_run_in_worker_processes_with_args_and_kwargs(executor: LocalExecutor) -> None:
    assert run(executor, pid) != os.getpid()
    assert run(executor, add, 2, b=3) == 5


def test_a_worker_freezes_what_importing_a_handler_created(executor: LocalExecutor) -> None:
    import gc

    run(executor, pid, affinity="w")  # imports this module in the worker
    assert run(executor, gc.get_freeze_count, affinity="w") > 1000


def test_an_exception_arrives_with_its_type_and_the_workers_traceback(
    executor: LocalExecutor,
) -> None:
    with pytest.raises(ValueError, match="bad input") as info:
        run(executor, boom, "bad input")
    cause = str(info.value.__cause__)
    assert "Traceback" in cause and "in boom" in cause


def test_exceptions_that_do_not_travel_still_report_their_traceback(
    executor: LocalExecutor,
) -> None:
    with pytest.raises(RuntimeError, match="cannot be pickled") as info:
        run(executor, raise_unpicklable)
    assert "deep trouble" in str(info.value)
    with pytest.raises(RuntimeError, match="could not be unpickled"):
        run(executor, raise_stubborn)


def test_system_exit_in_a_worker_does_not_stop_the_caller(executor: LocalExecutor) -> None:
    with pytest.raises(RuntimeError, match=r"SystemExit\(4\)"):
        run(executor, exit_politely)
    assert run(executor, add, 1) == 1  # the worker is still there


def test_stop_iteration_arrives_as_an_error_and_spares_the_other_replies(
    executor: LocalExecutor,
) -> None:
    async def batch() -> list[Any]:
        calls = [Call(stop_early, where="process", affinity="one"),
                 *(Call(add, (i, 1), where="process", affinity="one") for i in range(3))]
        return await asyncio.gather(*(executor.asubmit(c) for c in calls),
                                    return_exceptions=True)  # fmt: skip

    first, *rest = asyncio.run(batch())
    assert isinstance(first, RuntimeError) and "StopIteration" in str(first)
    assert rest == [1, 2, 3]


def test_a_call_may_start_processes_of_its_own(executor: LocalExecutor) -> None:
    assert run(executor, start_a_process) == 0


def test_finished_event_loops_are_not_kept_alive(executor: LocalExecutor) -> None:
    import gc

    for i in range(5):
        assert run(executor, add, i) == i
    gc.collect()
    workers = executor._workers
    assert workers is not None and len(workers._mailboxes) == 0  # one per live loop


def test_an_unpicklable_argument_fails_at_submit(executor: LocalExecutor) -> None:
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        run(executor, add, threading.Lock())
    with pytest.raises(TypeError, match=r"call to .*add cannot be sent .* module-level function"):
        run(executor, add, threading.Lock())
    with pytest.raises(TypeError, match=r"call to .*<lambda> cannot be sent"):
        run(executor, lambda: 1)


def test_an_unpicklable_result_fails_that_call_only(executor: LocalExecutor) -> None:
    with pytest.raises(TypeError, match=r"a_lock returned lock, which cannot be pickled"):
        run(executor, a_lock)
    assert run(executor, add, 1, 2) == 3


def test_large_payloads_travel_both_ways_at_once(executor: LocalExecutor) -> None:
    blobs = [os.urandom(3_000_000 + i) for i in range(6)]

    async def many() -> list[bytes]:
        calls = [Call(echo, (b,), where="process") for b in blobs]
        return await asyncio.gather(*(executor.asubmit(c) for c in calls))

    assert asyncio.run(many()) == [b[::-1] for b in blobs]


def test_a_dead_worker_fails_its_calls_and_is_replaced() -> None:
    ex = LocalExecutor(name="mortal", max_processes=1)
    try:
        before = run(ex, pid)
        with pytest.raises(BrokenProcessPool, match=r"exited with code 3 while .*leave"):
            run(ex, leave, 3)
        with pytest.raises(BrokenProcessPool, match="killed by SIGKILL"):
            run(ex, kill_self)
        after = run(ex, pid)
    finally:
        ex.close()
    assert before != after


def test_a_death_is_seen_even_when_a_child_keeps_the_socket_open(tmp_path: Any) -> None:
    ex = LocalExecutor(name="orphans", max_processes=1)
    pid_file = tmp_path / "orphan.pid"

    async def scenario() -> None:
        call = Call(orphan_then_die, (str(pid_file),), where="process")
        with pytest.raises(BrokenProcessPool, match="exited with code 7"):
            await asyncio.wait_for(ex.asubmit(call), 30)  # not the orphan's 60 s

    try:
        asyncio.run(scenario())
        assert run(ex, add, 2, 2) == 4
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        ex.close()


UNGUARDED_HOST = """
import asyncio
from concurrent.futures.process import BrokenProcessPool
from hybrid_core import Call, LocalExecutor

def add(a, b):
    return a + b

# No 'if __name__ == "__main__":' guard: every worker re-imports this module while it
# starts, tries to start processes of its own, and dies before it can serve a call.
ex = LocalExecutor(name="unguarded", max_processes=1)
for _ in range(4):
    try:
        print(asyncio.run(ex.asubmit(Call(add, (1, 2), where="process"))))
    except BrokenProcessPool as exc:
        print("broken:", exc)
ex.close()
"""


def test_workers_that_keep_dying_before_they_start_break_the_pool(tmp_path: Any) -> None:
    script = tmp_path / "unguarded_host.py"
    script.write_text(UNGUARDED_HOST)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stderr
    assert all(line.startswith("broken: worker process") for line in lines[:3]), lines
    assert "may not have run" in lines[0]
    assert "3 worker processes in a row ended before they could start" in lines[3]
    assert "'if __name__ == \"__main__\":'" in lines[3]


def test_a_worker_that_cannot_be_replaced_breaks_the_pool_without_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hybrid_core._execution import workers as _workers

    ex = LocalExecutor(name="no-more", max_processes=2)
    try:
        survivor = run(ex, pid, affinity="a")

        def refuse(*_: Any) -> None:
            raise OSError(24, "Too many open files")

        monkeypatch.setattr(_workers, "_Worker", refuse)
        other = 1 - ex._workers.pids.index(survivor)  # type: ignore[union-attr]
        ex._workers._sticky["b"] = other  # type: ignore[union-attr]
        with pytest.raises(BrokenProcessPool, match="killed by SIGKILL"):
            run(ex, kill_self, affinity="b")
        with pytest.raises(BrokenProcessPool, match="no new worker process could replace"):
            run(ex, add, 1)
    finally:
        ex.close()  # returns: the surviving worker is stopped as usual


def test_a_crash_fails_its_own_call_and_the_calls_queued_behind_it_run() -> None:
    ex = LocalExecutor(name="queue", max_processes=1)

    async def scenario() -> list[Any]:
        calls = [Call(slow, (0.2,), where="process"), Call(leave, (5,), where="process"),
                 Call(add, (1, 1), where="process")]  # fmt: skip
        outcomes = await asyncio.gather(*(ex.asubmit(c) for c in calls), return_exceptions=True)
        return [*outcomes, await ex.asubmit(Call(add, (2, 2), where="process"))]

    try:
        first, crash, queued, later = asyncio.run(scenario())
    finally:
        ex.close()
    assert first is None
    assert isinstance(crash, BrokenProcessPool)
    assert "exited with code 5 while running test_workers.leave" in str(crash)
    assert queued == 2  # it never started in the dead worker; its replacement ran it
    assert later == 4


def test_sigint_to_a_worker_does_not_kill_it(executor: LocalExecutor) -> None:
    worker = run(executor, pid, affinity="k")
    os.kill(worker, signal.SIGINT)
    time.sleep(0.2)
    assert run(executor, pid, affinity="k") == worker


def test_affinity_keeps_a_key_on_one_worker_and_spreads_the_rest(
    executor: LocalExecutor,
) -> None:
    async def many() -> list[int]:
        calls = [Call(slow, (0.01, i % 5), where="process", affinity=f"k{i % 5}")
                 for i in range(40)]  # fmt: skip
        values = await asyncio.gather(*(executor.asubmit(c) for c in calls))
        pids = await asyncio.gather(*(executor.asubmit(Call(pid, (i,), where="process",
                                      affinity=f"k{i}")) for i in range(5)))  # fmt: skip
        assert values == [i % 5 for i in range(40)]
        return list(pids)

    first, second = asyncio.run(many()), asyncio.run(many())
    assert first == second  # each key stays on its worker
    assert len(set(first)) == 2  # and both workers are used


def test_callers_on_several_loops_share_the_workers(executor: LocalExecutor) -> None:
    results: dict[int, list[int]] = {}

    def caller(n: int) -> None:
        async def go() -> list[int]:
            calls = [Call(add, (n, i), where="process") for i in range(50)]
            return list(await asyncio.gather(*(executor.asubmit(c) for c in calls)))

        results[n] = asyncio.run(go())

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: [n + i for i in range(50)] for n in range(4)}


def test_a_caller_that_stops_waiting_leaves_the_workers_usable(executor: LocalExecutor) -> None:
    async def scenario() -> int:
        with pytest.raises(asyncio.TimeoutError):  # TimeoutError itself only from 3.11
            await asyncio.wait_for(executor.asubmit(Call(slow, (0.5,), where="process")), 0.05)
        return int(await executor.asubmit(Call(add, (40, 2), where="process")))

    assert asyncio.run(scenario()) == 42


def test_close_lets_queued_calls_finish_then_refuses_new_ones() -> None:
    ex = LocalExecutor(name="closing", max_processes=1)
    results: list[Any] = []

    async def scenario() -> None:
        tasks = [asyncio.ensure_future(ex.asubmit(Call(slow, (0.05, i), where="process")))
                 for i in range(4)]  # fmt: skip
        await asyncio.sleep(0.01)
        closing = asyncio.get_running_loop().run_in_executor(None, ex.close)
        results.extend(await asyncio.gather(*tasks))
        await closing

    asyncio.run(scenario())
    assert results == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="closed"):
        run(ex, add, 1)


EXIT_OPEN = """
import asyncio, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a host that would die of a stray EPIPE
from hybrid_core import Call, LocalExecutor
from test_workers import add, slow

async def main(ex):
    print(await ex.asubmit(Call(add, (1, 2), where="process")), flush=True)
    asyncio.ensure_future(ex.asubmit(Call(slow, (60,), where="process")))
    await asyncio.sleep(0.2)
    print(*ex._workers.pids, flush=True)

if __name__ == "__main__":
    asyncio.run(main(LocalExecutor(name="open", max_processes=2)))
"""


def test_a_host_that_exits_without_closing_stops_its_workers(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "exit_open.py"
    script.write_text(EXIT_OPEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          check=False, env=env, timeout=50)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.split("\n")
    assert lines[0] == "3"
    for worker in map(int, lines[1].split()):  # not left running the 60 s call
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)


def _alive(process_id: int) -> bool:
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    return True


def test_closing_kills_a_worker_still_busy_after_the_grace() -> None:
    ex = LocalExecutor(max_processes=1, close_grace=0.2)

    async def abandon() -> int:
        worker = await ex.asubmit(Call(pid, where="process"))
        waiting = asyncio.ensure_future(ex.asubmit(Call(slow, (600,), where="process")))
        await asyncio.sleep(0.3)  # the call is running in the worker by now
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return int(worker)

    worker = asyncio.run(abandon())
    ex.close()  # would wait ten minutes for the call without the grace
    for _ in range(50):
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker)


def test_a_thread_call_that_outlasts_the_grace_is_counted_as_abandoned() -> None:
    ex = LocalExecutor(close_grace=0.1)
    release = threading.Event()

    async def start() -> None:
        task = asyncio.ensure_future(ex.asubmit(Call(release.wait, (600,), where="thread")))
        await asyncio.sleep(0.1)
        task.cancel()

    asyncio.run(start())
    ex.close()
    assert ex.abandoned == 1
    release.set()


@pytest.mark.parametrize("grace", [-1, float("nan"), float("inf"), "5", True])
def test_close_grace_is_checked(grace: Any) -> None:
    with pytest.raises(ValueError, match="close_grace must be a number of seconds >= 0"):
        LocalExecutor(close_grace=grace)


def test_a_cancelled_call_frees_its_worker_after_the_grace() -> None:
    from hybrid_core._execution.workers import CANCEL_GRACE

    ex = LocalExecutor(name="freed", max_processes=1)

    async def scenario() -> tuple[int, int, int]:
        before = int(await ex.asubmit(Call(pid, where="process")))
        stuck = asyncio.ensure_future(ex.asubmit(Call(slow, (600,), where="process")))
        await asyncio.sleep(0.2)  # running in the only worker by now
        stuck.cancel()
        # Without the kill this would wait ten minutes behind the abandoned call.
        value = await asyncio.wait_for(
            ex.asubmit(Call(add, (1, 2), where="process")), CANCEL_GRACE + 30
        )
        after = int(await ex.asubmit(Call(pid, where="process")))
        return before, int(value), after

    try:
        before, value, after = asyncio.run(scenario())
    finally:
        ex.close()
    assert value == 3
    assert after != before and not _alive(before)


UNGUARDED = """
import sys
import hybrid_core as hc
from hybrid_core.testing import make_plugin

print("body runs", flush=True)


def double(x):
    return 2 * x


engine = hc.Engine(name="dbl", capabilities={"math.double": 1}, handler=double, process=True)
with hc.Hybrid(plugins=[make_plugin("p", engines=[engine])], entry_points=False,
               config={"executor": {"max_processes": 2}}) as system:
    print(system.execute("math.double", 21))
"""


def test_a_main_module_without_its_guard_fails_at_once_with_the_fix(tmp_path: Any) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert "if __name__ == \"__main__\":" in result.stderr.splitlines()[-1]
    # The script and each of the pool's first two workers, and no more workers after them.
    assert result.stdout.count("body runs") == 3
    assert "bootstrapping phase" not in result.stderr  # the worker left quietly

    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        UNGUARDED.replace("\nwith hc.Hybrid", "\nif __name__ == '__main__':\n  with hc.Hybrid")
    )
    ok = subprocess.run(
        [sys.executable, str(guarded)], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "42" in ok.stdout.split()  # the workers' own "body runs" lines may come after
