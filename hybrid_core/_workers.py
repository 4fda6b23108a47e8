"""Worker processes for CPU-bound calls: a socket per worker and one I/O thread for all.

``concurrent.futures.ProcessPoolExecutor`` sends a call through three threads of the
parent (the caller, the pool's manager, the queue's feeder) and cannot send a call to a
chosen worker unless each worker is a pool of its own; that cost about 190 µs of parent
CPU per call, a fifth of the work on a code review of many small files. Here the caller
pickles the call and queues it; one I/O thread writes queued calls to each worker's socket
(all calls queued for a worker in one write), reads replies, and hands them back to each
caller's event loop in batches. A worker runs its calls in the order they were sent, so
calls about one file (one affinity) run back to back in one process and its caches.

Frames are a 16-byte header (call id, body size) and a pickled body. The call id 0 asks a
worker to exit once the calls before it are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pickle
import selectors
import signal
import socket
import struct
import threading
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["Workers"]

_HEADER = struct.Struct("!QQ")
_STOP = 0
_READ_SIZE = 1 << 18
_PICKLE = pickle.HIGHEST_PROTOCOL
# Writing to a worker that has died must raise EPIPE, not kill a host that set SIGPIPE.
_NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, chained as its ``__cause__``."""

    def __str__(self) -> str:
        return str(self.args[0])


def _serve(sock: socket.socket) -> None:
    """A worker's life: read calls, run them in order, send each reply back."""
    # Ctrl-C reaches the whole process group; the parent decides what stops, so that a
    # call is never cut half way by a signal meant for the host.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.setblocking(True)
    with sock, sock.makefile("rb", buffering=_READ_SIZE) as reader:
        while True:
            header = reader.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return  # the parent has gone
            call_id, size = _HEADER.unpack(header)
            if call_id == _STOP:
                return
            reply = _run(reader.read(size))
            sock.sendall(_HEADER.pack(call_id, len(reply)) + reply)


def _run(body: bytes) -> bytes:
    """Run one pickled call; the pickled ``(ok, value, traceback)`` to send back."""
    name = "the call"
    try:
        fn, args, kwargs = pickle.loads(body)
        name = _name(fn)
        value = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the caller gets every failure
        return _failure(exc, exc)
    except BaseException as exc:  # noqa: BLE001 - SystemExit would stop the caller's loop
        return _failure(RuntimeError(f"{name} raised {exc!r} in a worker process"), exc)
    try:
        return pickle.dumps((True, value, None), _PICKLE)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result fails this call only
        problem = TypeError(
            f"{name} returned {type(value).__name__}, which cannot be pickled to send it "
            f"back from the worker process ({exc}); return plain data (dicts, lists, str)"
        )
        return _failure(problem, problem)


def _failure(exc: BaseException, cause: BaseException) -> bytes:
    """``exc`` pickled for the caller, with the formatted traceback of ``cause``."""
    text = "".join(traceback.format_exception(cause))
    try:
        return pickle.dumps((False, exc, text), _PICKLE)
    except Exception:  # noqa: BLE001 - the traceback still tells what went wrong
        return pickle.dumps((False, None, text), _PICKLE)


def _name(fn: object) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}" if module else str(qualname)


class _Mailbox:
    """Replies for one event loop; the loop is woken once however many arrive meanwhile."""

    __slots__ = ("_items", "_lock", "_scheduled", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: _Done = []
        self._scheduled = False

    def post(self, items: _Done) -> None:
        """From the I/O thread: hand ``items`` to the loop."""
        with self._lock:
            self._items += items
            if self._scheduled:
                return
            self._scheduled = True
        # A closed loop raises RuntimeError: nobody waits for these results any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        _settle(items)


class _Pending:
    """A call queued for a worker, and where its reply goes."""

    __slots__ = ("future", "index", "mailbox", "name")

    def __init__(
        self, mailbox: _Mailbox, future: asyncio.Future[Any], name: str, index: int
    ) -> None:
        self.mailbox, self.future, self.name, self.index = mailbox, future, name, index


_Done = list[tuple[_Pending, "bytes | BaseException"]]


class _Worker:
    """One worker process and the parent's end of its socket (used by the I/O thread)."""

    __slots__ = ("calls", "dead", "inbox", "outbox", "process", "sock")

    def __init__(self, context: Any, label: str) -> None:
        self.sock, child = socket.socketpair()
        self.process = context.Process(target=_serve, args=(child,), name=label, daemon=True)
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

    def how_it_ended(self) -> str:
        self.process.join(timeout=2)
        code = self.process.exitcode
        if code is None:
            return "closed its connection"
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

    The caller writes a call to its worker's socket itself when nothing is waiting to be
    written there (the common case: no thread is woken to send). What does not fit in
    the socket's buffer is left in the worker's outbox for the I/O thread, which also
    reads every reply. ``_lock`` guards the workers' outboxes, calls and the counters.
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
        self._closed = False
        self._broken: str | None = None
        self._workers: list[_Worker] = []
        try:
            for i in range(size):
                self._workers.append(_Worker(context, f"{label}-{i}"))
        except BaseException:
            self._stop_all()
            raise
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        for worker in self._workers:
            self._selector.register(worker.sock, selectors.EVENT_READ, worker)
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
        body = pickle.dumps((fn, args, kwargs), _PICKLE)  # unpicklable input fails here
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool(f"{self._label}: the worker processes {self._broken}")
            if self._closed:
                raise RuntimeError(f"{self._label}: the worker processes are shut down")
            mailbox = self._mailboxes.get(loop)
            if mailbox is None:
                mailbox = self._mailboxes[loop] = _Mailbox(loop)
            index = self._choose(affinity)
            self.in_flight[index] += 1
            worker = self._workers[index]
            call_id = next(self._ids)
            worker.calls[call_id] = _Pending(mailbox, future, _name(fn), index)
            idle = not worker.outbox
            worker.outbox += _HEADER.pack(call_id, len(body))
            worker.outbox += body
            if idle and not worker.dead and not self._send(worker):
                self._wake()  # the rest waits for the socket to drain
        return future

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

        A worker that has died is left to the I/O thread, which sees its socket close.
        """
        try:
            sent = worker.sock.send(worker.outbox, _NO_SIGNAL)
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
                self._wake_write.send(b"\0")

    def close(self) -> None:
        """Let every call already sent finish, then stop the workers and the I/O thread."""
        with self._lock:
            self._closed = True
            self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # Everything below runs on the I/O thread.

    def _io(self) -> None:
        try:
            self._serve_forever()
        except BaseException as exc:  # noqa: BLE001 - no caller may wait on a dead thread
            self._fail_everything(exc)
        finally:
            self._stop_all()

    def _serve_forever(self) -> None:
        while True:
            done: _Done = []
            for key, mask in self._selector.select():
                worker = key.data
                if worker is None:
                    self._drain_wake()
                    continue
                if mask & selectors.EVENT_READ:
                    self._read(worker, done)
                if mask & selectors.EVENT_WRITE:
                    self._flush(worker)
            with self._lock:
                self._wake_sent = False
                for worker in self._workers:
                    self._watch(worker)
                finished = self._closed and not any(w.calls for w in self._workers)
            self._deliver(done)
            if finished:
                return

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_read.recv(4096):
                pass

    def _watch(self, worker: _Worker) -> None:
        """Watch ``worker`` for writability while its outbox holds anything (under lock)."""
        if worker.dead:
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if worker.outbox else 0)
        if self._selector.get_key(worker.sock).events != events:
            self._selector.modify(worker.sock, events, worker)

    def _flush(self, worker: _Worker) -> None:
        with self._lock:
            if not worker.dead:
                self._send(worker)

    def _read(self, worker: _Worker, done: _Done) -> None:
        if worker.dead:
            return
        try:
            data = worker.sock.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost(worker, done)
            return
        inbox = worker.inbox
        inbox += data
        start, replies = 0, []
        while len(inbox) - start >= _HEADER.size:
            call_id, size = _HEADER.unpack_from(inbox, start)
            end = start + _HEADER.size + size
            if len(inbox) < end:
                break
            replies.append((call_id, bytes(inbox[start + _HEADER.size : end])))
            start = end
        del inbox[:start]
        with self._lock:
            done += [(worker.calls.pop(call_id), reply) for call_id, reply in replies]

    def _lost(self, worker: _Worker, done: _Done) -> None:
        """A worker died: fail the calls it held and start another in its place."""
        with self._lock:
            worker.dead = True
            held = list(worker.calls.values())
            worker.calls.clear()
            worker.outbox.clear()
        self._selector.unregister(worker.sock)
        worker.sock.close()
        how = worker.how_it_ended()
        for pending in held:
            error = BrokenProcessPool(
                f"worker process {worker.process.pid} {how} while {pending.name} was queued "
                "or running in it, so that call may not have run; a new worker process "
                "takes its place for later calls"
            )
            done.append((pending, error))
        index = self._workers.index(worker)
        replacement = _Worker(self._context, f"{self._label}-{index}")
        with self._lock:
            # Calls sent to the dead worker while the replacement started go to it.
            replacement.calls.update(worker.calls)
            replacement.outbox += worker.outbox
            worker.calls.clear()
            self._workers[index] = replacement
            self._send(replacement)
        self._selector.register(replacement.sock, selectors.EVENT_READ, replacement)

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

    def _fail_everything(self, exc: BaseException) -> None:
        with self._lock:
            self._broken = f"cannot be used: their I/O thread failed ({exc!r})"
            held = [p for w in self._workers for p in w.calls.values()]
            for worker in self._workers:
                worker.calls.clear()
        error = BrokenProcessPool(f"{self._label}: the worker processes {self._broken}")
        self._deliver([(pending, error) for pending in held])

    def _stop_all(self) -> None:
        for worker in self._workers:
            if worker.dead:
                continue
            try:
                worker.sock.setblocking(True)
                worker.sock.sendall(_HEADER.pack(_STOP, 0))
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join()
            worker.sock.close()
        if hasattr(self, "_selector"):
            self._selector.close()
        self._wake_read.close()
        self._wake_write.close()


def _settle(items: _Done) -> None:
    """On the caller's loop: unpickle each reply into its future."""
    for pending, reply in items:
        future = pending.future
        if future.done():
            continue  # the caller stopped waiting (cancelled, timed out)
        if isinstance(reply, BaseException):
            future.set_exception(reply)
            continue
        try:
            ok, value, text = pickle.loads(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. a class this process cannot import
            reason = f"the reply of {pending.name} from the worker process could not be unpickled"
            future.set_exception(RuntimeError(f"{reason} here: {exc!r}"))
            continue
        if ok:
            future.set_result(value)
        elif value is None:
            reason = f"{pending.name} raised an exception that cannot be pickled in a worker"
            future.set_exception(RuntimeError(f"{reason}:\n{text}"))
        else:
            value.__cause__ = _RemoteTraceback(text)
            future.set_exception(value)
