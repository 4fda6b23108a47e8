"""Worker processes for CPU-bound calls: a socket per worker and one I/O thread for all.

``concurrent.futures.ProcessPoolExecutor`` sends a call through three threads of the
parent (the caller, the pool's manager, the queue's feeder) and cannot send a call to a
chosen worker unless each worker is a pool of its own; that cost about 190 µs of parent
CPU per call, a fifth of the work on a code review of many small files. Here the caller
pickles a call and writes it to its worker's socket itself (what the socket's buffer
cannot take waits in the worker's outbox for the I/O thread); one I/O thread reads the
replies of every worker and hands them to each caller's event loop in batches. A worker
runs its calls in the order sent (``worker_main``), so calls about one file (one
affinity) run back to back in one process and its caches.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import itertools
import pickle
import selectors
import signal
import socket
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .worker_main import (
    HEADER,
    MAIN_GUARD_EXIT,
    MAIN_GUARD_FIX,
    NO_SIGNAL,
    PICKLE,
    READ_SIZE,
    READY,
    STOP,
    RemoteTraceback,
    describe,
)
from .worker_main import serve as _serve

__all__ = ["Workers"]

# Workers in a row that die before replying to anything: something kills every worker
# (a main module without the __main__ guard, a module that crashes on import), so the
# pool stops starting new ones instead of spinning.
_EARLY_DEATHS = 3
# A call whose caller stopped waiting (cancelled, timed out) gets this long to finish
# before its worker is killed and replaced, so it cannot hold the worker for good.
CANCEL_GRACE = 1.0
# A process sentinel is a file descriptor a selector can watch on POSIX; on Windows it is
# a handle, and a death is seen only when the worker's socket closes.
_SENTINELS = sys.platform != "win32"


class _Mailbox:
    """Replies for one event loop; the loop is woken once however many arrive meanwhile.

    It holds its loop weakly, so that a finished loop (``asyncio.run``) can be freed.
    """

    __slots__ = ("_items", "_lock", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self._lock = threading.Lock()
        self._items: _Done = []
        self._scheduled = False

    def post(self, items: _Done) -> None:
        """From the I/O thread: hand ``items`` to the loop, or drop them if it has closed."""
        loop = self._loop()
        with self._lock:
            if loop is None or loop.is_closed():
                self._items.clear()  # nobody waits for these results any more
                return
            self._items += items
            if self._scheduled:
                return
            self._scheduled = True
        try:
            loop.call_soon_threadsafe(self._settle)
        except RuntimeError:  # the loop closed in between
            with self._lock:
                self._items.clear()
                self._scheduled = False

    def _settle(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        for pending, reply in items:
            _settle(pending, reply)


class _Pending:
    """A call sent (or about to be) to a worker, and where its reply goes.

    ``frame`` is kept until the reply comes, so that a call queued behind one that killed
    its worker can be sent again to the replacement; ``cancelled_at`` is when its caller
    stopped waiting (monotonic), or None.
    """

    __slots__ = ("cancelled_at", "frame", "future", "index", "mailbox", "name")

    def __init__(
        self,
        mailbox: _Mailbox,
        future: asyncio.Future[Any],
        name: str,
        index: int,
        frame: bytes,
    ) -> None:
        self.mailbox, self.future, self.name, self.index = mailbox, future, name, index
        self.frame = frame
        self.cancelled_at: float | None = None


_Done = list[tuple[_Pending, "bytes | BaseException"]]


class _Worker:
    """One worker process and the parent's end of its socket."""

    __slots__ = (
        "calls", "cut", "dead", "inbox", "outbox", "process", "ready", "sock",
    )  # fmt: skip

    def __init__(self, context: Any, label: str) -> None:
        self.sock, child = socket.socketpair()
        # Not a daemon: a call may start processes of its own, which daemons cannot.
        self.process = context.Process(target=_serve, args=(child,), name=label)
        try:
            self.process.start()
        except BaseException:
            self.sock.close()
            raise
        finally:
            child.close()
        self.sock.setblocking(False)
        self.calls: dict[int, _Pending] = {}
        self.inbox = bytearray()  # replies read but not yet whole
        self.outbox = bytearray()  # calls not yet written
        self.dead = False
        self.cut = False  # a frame may have been cut off half written
        self.ready = False  # it said it has started (its first frame)

    def end(self, timeout: float) -> str:
        """Wait up to ``timeout`` for the process to exit, then kill it; how it ended."""
        self.process.join(timeout)
        code = self.process.exitcode
        if code is None:
            self.process.kill()
            self.process.join(1)
            return "stopped answering and was killed"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"


class Workers:
    """A fixed number of worker processes, with sticky placement by affinity.

    A call without affinity goes to the worker with the fewest calls in flight. A call
    with affinity goes where the last call with that affinity went (remembered for the
    most recent ``memory`` keys), else to the least busy worker. A worker that dies fails
    the calls it held with ``BrokenProcessPool`` and is replaced at once.

    ``_lock`` guards the workers' outboxes and calls, the counters and the state; the I/O
    thread alone reads the sockets and changes the selector.
    """

    def __init__(self, size: int, context: Any, *, label: str, memory: int = 4096) -> None:
        self._context, self._label = context, label
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sticky: OrderedDict[Hashable, int] = OrderedDict()
        self._memory = memory
        self._mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Mailbox]
        self._mailboxes = weakref.WeakKeyDictionary()
        self.in_flight = [0] * size
        self._wake_sent = False
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._closing: str | None = None  # "wait" (let sent calls finish) or "now"
        self._close_by: float | None = None  # when a closing wait gives up (monotonic)
        self._broken: str | None = None
        self._early_deaths = 0
        self._workers: list[_Worker] = []
        # Where the I/O thread reads replies into. recv(n) would allocate n bytes for
        # every read and shrink them to what came: above malloc's mmap threshold that is
        # a map and an unmap a read, about 15 us against 3 for recv_into.
        self._received = memoryview(bytearray(READ_SIZE))
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        try:
            for i in range(size):
                self._workers.append(_Worker(context, f"{label}-{i}"))
                self._watch_new(self._workers[-1])
        except BaseException:
            self._stop_all(0.5)
            raise
        self._exit_hook = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._exit_hook)
        self._thread = threading.Thread(target=self._io, name=f"{label}-io", daemon=True)
        self._thread.start()

    @property
    def pids(self) -> list[int | None]:
        """The worker processes' ids, in worker order."""
        return [worker.process.pid for worker in self._workers]

    def submit(
        self, fn: Any, args: tuple[Any, ...], kwargs: Any, affinity: Hashable | None
    ) -> asyncio.Future[Any]:
        """Send a call; the returned future (of the running loop) gets its outcome."""
        try:
            body = pickle.dumps((fn, args, kwargs), PICKLE)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(
                f"a call to {describe(fn)} cannot be sent to a worker process ({exc}); it "
                "needs a module-level function and picklable arguments (plain data)"
            ) from exc
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool(f"{self._label}: {self._broken}")
            if self._closing:
                raise RuntimeError(f"{self._label}: the worker processes are shut down")
            mailbox = self._mailboxes.get(loop)
            if mailbox is None:
                mailbox = self._mailboxes[loop] = _Mailbox(loop)
            index = self._choose(affinity)
            self.in_flight[index] += 1
            worker = self._workers[index]
            call_id = next(self._ids)
            frame = HEADER.pack(call_id, len(body)) + body
            pending = worker.calls[call_id] = _Pending(mailbox, future, describe(fn), index, frame)
            idle = not worker.outbox
            worker.outbox += frame
            # A dead worker's calls move to its replacement, which sends them.
            if idle and not worker.dead and not self._send(worker):
                self._wake()  # the rest waits for the socket to drain
        future.add_done_callback(functools.partial(self._on_done, pending))
        return future

    def _on_done(self, pending: _Pending, future: asyncio.Future[Any]) -> None:
        """On the caller's loop: a call whose caller stopped waiting may free its worker."""
        if future.cancelled():
            with self._lock:
                pending.cancelled_at = time.monotonic()
                self._wake()

    def _choose(self, affinity: Hashable | None) -> int:
        if affinity is not None:
            known = self._sticky.get(affinity)
            if known is not None:
                self._sticky.move_to_end(affinity)
                return known
        index = min(range(len(self.in_flight)), key=self.in_flight.__getitem__)
        if affinity is not None:
            self._sticky[affinity] = index
            if len(self._sticky) > self._memory:
                self._sticky.popitem(last=False)
        return index

    def _send(self, worker: _Worker) -> bool:
        """Write what the socket takes (holding the lock); True when the outbox is empty.

        A worker that has died is left to the I/O thread, which sees it end.
        """
        try:
            sent = worker.sock.send(worker.outbox, NO_SIGNAL)
        except OSError:  # BlockingIOError (buffer full) or the worker has gone
            return False
        del worker.outbox[:sent]
        return not worker.outbox

    def _wake(self) -> None:
        # One byte wakes the I/O thread however often this is called before it reads it.
        if not self._wake_sent:
            self._wake_sent = True
            # When the I/O thread has stopped and closed it, nothing is left to wake.
            with contextlib.suppress(OSError):
                self._wake_write.send(b"\0", NO_SIGNAL)

    def close(self, *, wait: bool = True, grace: float | None = None) -> None:
        """Stop the workers and the I/O thread.

        With ``wait`` every call already sent finishes first (also one whose caller
        stopped waiting: a call cannot be taken back from a worker), for at most ``grace``
        seconds when one is given; without it, or once the grace has passed, calls not
        finished fail with ``BrokenProcessPool`` and workers still busy are killed.
        """
        with self._lock:
            if self._closing != "now":
                self._closing = "wait" if wait else "now"
                if wait and grace is not None:
                    self._close_by = time.monotonic() + max(grace, 0.0)
            self._wake()
        atexit.unregister(self._exit_hook)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def kill(self) -> None:
        """Kill every worker process at once, for a process that must exit now."""
        with self._lock:
            self._closing = "now"  # and start no replacement
        for worker in list(self._workers):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                worker.process.kill()

    # Everything below runs on the I/O thread.

    def _io(self) -> None:
        try:
            self._serve_forever()
        except BaseException as exc:  # noqa: BLE001 - no caller may wait on a dead thread
            self._break(f"the worker processes cannot be used: their I/O thread failed ({exc!r})")
        finally:
            self._fail_held("the worker processes were shut down before this call finished")
            self._stop_all(5.0 if self._closing == "wait" else 0.5)

    def _serve_forever(self) -> None:
        while True:
            done: _Done = []
            wake_at = self._kill_abandoned()
            if self._close_by is not None:
                wake_at = min(wake_at or self._close_by, self._close_by)
            limit = None if wake_at is None else max(wake_at - time.monotonic(), 0)
            for key, mask in self._selector.select(limit):
                if key.data is None:
                    self._drain_wake()
                    continue
                worker, is_sentinel = key.data
                if worker.dead:
                    continue
                if is_sentinel:  # the process ended: take its last replies, then replace it
                    while self._read(worker, done):
                        pass
                    if not worker.dead:
                        self._lost(worker, done)
                    continue
                if mask & selectors.EVENT_READ:
                    self._read(worker, done)
                if mask & selectors.EVENT_WRITE and not worker.dead:
                    with self._lock:
                        self._send(worker)
            with self._lock:
                self._wake_sent = False
                for worker in self._workers:
                    self._watch(worker)
                closing = self._closing
                idle = not any(w.calls for w in self._workers)
            self._deliver(done)
            if closing == "now" or (closing == "wait" and idle):
                return
            if self._close_by is not None and time.monotonic() >= self._close_by:
                self._closing = "now"  # the grace is over: what still runs is killed
                return

    def _kill_abandoned(self) -> float | None:
        """Kill each worker whose running call nobody awaits any more, once its grace has
        passed (the sentinel then replaces it); when to look again, or None."""
        now, wake_at = time.monotonic(), None
        with self._lock:
            if self._closing:
                return None
            running = [(w, next(iter(w.calls.values()))) for w in self._workers if w.calls]
        for worker, pending in running:
            if pending.cancelled_at is None or worker.dead or not worker.ready:
                continue
            due = pending.cancelled_at + CANCEL_GRACE
            if now >= due:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    worker.process.kill()
            else:
                wake_at = due if wake_at is None else min(wake_at, due)
        return wake_at

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_read.recv(4096):
                pass

    def _watch_new(self, worker: _Worker) -> None:
        self._selector.register(worker.sock, selectors.EVENT_READ, (worker, False))
        if _SENTINELS:
            self._selector.register(worker.process.sentinel, selectors.EVENT_READ, (worker, True))

    def _watch(self, worker: _Worker) -> None:
        """Watch ``worker`` for writability while its outbox holds anything (under lock)."""
        if worker.dead:
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if worker.outbox else 0)
        if self._selector.get_key(worker.sock).events != events:
            self._selector.modify(worker.sock, events, (worker, False))

    def _read(self, worker: _Worker, done: _Done) -> bool:
        """Take what ``worker`` sent; False when nothing was waiting (or it has gone)."""
        received = self._received
        try:
            got = worker.sock.recv_into(received)
        except BlockingIOError:
            return False
        except OSError:
            got = 0
        if not got:
            self._lost(worker, done)
            return False
        inbox = worker.inbox
        inbox += received[:got]
        start, replies = 0, []
        while len(inbox) - start >= HEADER.size:
            call_id, size = HEADER.unpack_from(inbox, start)
            end = start + HEADER.size + size
            if len(inbox) < end:
                break
            replies.append((call_id, bytes(inbox[start + HEADER.size : end])))
            start = end
        del inbox[:start]
        if replies and replies[0][0] == READY:
            worker.ready = True
            self._early_deaths = 0
            del replies[0]
        if replies:
            with self._lock:
                done += [(worker.calls.pop(call_id), reply) for call_id, reply in replies]
        return True

    def _lost(self, worker: _Worker, done: _Done) -> None:
        """A worker died: its running call fails, the ones queued behind it go to the
        worker that takes its place (they never started: a worker runs one at a time)."""
        with self._lock:
            worker.dead = True
            held = list(worker.calls.values())
            worker.calls.clear()
            worker.outbox.clear()
        self._selector.unregister(worker.sock)
        if _SENTINELS:
            self._selector.unregister(worker.process.sentinel)
        worker.sock.close()
        how = worker.end(2.0)
        pid = worker.process.pid
        requeue: list[_Pending] = []
        if worker.ready and held and not self._closing:
            running, *queued = held
            cause = "after its caller stopped waiting" if running.cancelled_at else "while"
            done.append((running, BrokenProcessPool(
                f"worker process {pid} {how} {cause} running {running.name}; a new worker "
                "process takes its place, and the calls queued behind this one run there"
            )))  # fmt: skip
            for pending in queued:
                if pending.cancelled_at is None:
                    requeue.append(pending)
                else:
                    done.append((pending, BrokenProcessPool("cancelled")))  # nobody waits
        elif worker.process.exitcode == MAIN_GUARD_EXIT:
            done += [(p, BrokenProcessPool(f"{self._label}: {MAIN_GUARD_FIX}")) for p in held]
        else:
            for pending in held:
                done.append((pending, BrokenProcessPool(
                    f"worker process {pid} {how} while {pending.name} was queued or running "
                    "in it, so that call may not have run; a new worker process takes its "
                    "place for later calls"
                )))  # fmt: skip
        self._early_deaths += not worker.ready  # it never started: not a call's fault
        if self._closing:
            return  # no new workers while shutting down; the slot stays empty
        if not worker.ready and worker.process.exitcode == MAIN_GUARD_EXIT:
            done += [(p, BrokenProcessPool(f"{self._label}: {MAIN_GUARD_FIX}")) for p in requeue]
            self._break(MAIN_GUARD_FIX)
            return
        if self._early_deaths >= _EARLY_DEATHS:
            done += [(p, BrokenProcessPool(f"{self._label}: worker deaths")) for p in requeue]
            self._break(
                f"{self._early_deaths} worker processes in a row ended before they could "
                f"start (the last {how}); check that the main module guards its code with "
                "'if __name__ == \"__main__\":' and that the handlers' modules import "
                "cleanly in a fresh process"
            )
            return
        self._replace(worker, how, requeue, done)

    def _replace(self, worker: _Worker, how: str, requeue: list[_Pending], done: _Done) -> None:
        index = self._workers.index(worker)
        try:
            replacement = _Worker(self._context, f"{self._label}-{index}")
        except Exception as exc:  # noqa: BLE001 - e.g. out of file descriptors
            reason = f"no new worker process could replace one that {how}: {exc!r}"
            done += [(p, BrokenProcessPool(f"{self._label}: {reason}")) for p in requeue]
            self._break(reason)
            return
        with self._lock:
            # First the calls that were queued behind the one that died, in their order;
            # then those sent to the dead worker while the replacement started.
            for pending in requeue:
                call_id = HEADER.unpack_from(pending.frame)[0]
                replacement.calls[call_id] = pending
                replacement.outbox += pending.frame
            replacement.calls.update(worker.calls)
            replacement.outbox += worker.outbox
            worker.calls.clear()
            worker.outbox.clear()
            self._workers[index] = replacement
            self._send(replacement)
        self._watch_new(replacement)

    def _break(self, reason: str) -> None:
        """Refuse new calls for good; calls held by dead workers fail now."""
        with self._lock:
            self._broken = reason
        self._fail_held(reason, only_dead=True)

    def _fail_held(self, reason: str, *, only_dead: bool = False) -> None:
        with self._lock:
            held: list[_Pending] = []
            for worker in self._workers:
                if worker.dead or not only_dead:
                    held += worker.calls.values()
                    worker.calls.clear()
                    worker.cut = worker.cut or bool(worker.outbox)
                    worker.outbox.clear()
        error = BrokenProcessPool(f"{self._label}: {reason}")
        self._deliver([(pending, error) for pending in held])

    def _deliver(self, done: _Done) -> None:
        if not done:
            return
        by_loop: dict[_Mailbox, _Done] = {}
        with self._lock:
            for item in done:
                self.in_flight[item[0].index] -= 1
                by_loop.setdefault(item[0].mailbox, []).append(item)
        for mailbox, items in by_loop.items():
            mailbox.post(items)

    def _stop_all(self, timeout: float) -> None:
        live = [worker for worker in self._workers if not worker.dead]
        for worker in live:
            # After a frame cut off half written, the stop frame would be read as its rest;
            # closing the socket alone ends that worker.
            if not worker.cut:
                with contextlib.suppress(OSError):
                    worker.sock.send(HEADER.pack(STOP, 0), NO_SIGNAL)
            worker.sock.close()  # a worker still writing a reply gets EPIPE and exits
        for worker in live:
            worker.end(timeout)
        self._selector.close()
        with self._lock:
            self._wake_write.close()
            self._wake_read.close()


def _close_at_exit(ref: weakref.ref[Workers]) -> None:
    """At interpreter exit, stop a pool its owner never closed (nobody awaits its calls)."""
    workers = ref()
    if workers is not None:
        workers.close(wait=False)


def _settle(pending: _Pending, reply: bytes | BaseException) -> None:
    """On the caller's loop: unpickle a reply into its future."""
    future = pending.future
    if future.done():
        return  # the caller stopped waiting (cancelled, timed out)
    try:
        error = reply if isinstance(reply, BaseException) else _outcome(pending, reply, future)
    except Exception as exc:  # noqa: BLE001 - e.g. a class this process cannot import
        reason = f"the reply of {pending.name} from the worker process could not be unpickled"
        error = RuntimeError(f"{reason} here: {exc!r}")
    if error is not None:
        try:
            future.set_exception(error)
        except TypeError:  # StopIteration and kin cannot be raised into a future
            future.set_exception(RuntimeError(f"{pending.name} raised {error!r}"))


def _outcome(pending: _Pending, reply: bytes, future: asyncio.Future[Any]) -> BaseException | None:
    """Set the result from ``reply``, or return the exception to set."""
    ok, value, text = pickle.loads(reply)
    if ok:
        future.set_result(value)
        return None
    if value is None:
        reason = f"{pending.name} raised an exception that cannot be pickled in a worker"
        return RuntimeError(f"{reason}:\n{text}")
    value.__cause__ = RemoteTraceback(text)
    return value  # type: ignore[no-any-return]
