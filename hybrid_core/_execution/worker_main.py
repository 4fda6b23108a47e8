"""The worker process's side of the local executor's process pool (see ``workers``).

A worker reads frames from its socket, runs each call in the order sent, and writes one
reply frame per call. A frame is a 16-byte header (call id, body size) and a pickled body:
``(fn, args, kwargs)`` going out, ``(ok, value, traceback text)`` coming back. The call id
0 asks the worker to exit once the calls before it are done; so does the end of the
socket (the parent closed it or died). The worker's first frame, id 0 and empty, says
it has started, so a later death is the fault of the call it was running.
"""

from __future__ import annotations

import gc
import pickle
import signal
import socket
import struct
import sys
import traceback

HEADER = struct.Struct("!QQ")
STOP = 0  # parent to worker: exit once the calls before it are done
READY = 0  # worker to parent, its first frame: started, about to read calls
# A worker exits with this when it finds itself starting a system while it imports the
# main module (a script without the ``if __name__ == "__main__":`` guard); the parent
# then stops the pool with the fix, instead of starting worker after worker.
MAIN_GUARD_EXIT = 78
MAIN_GUARD_FIX = (
    "the main module starts a hybrid system as it is imported, and worker processes "
    "import the main module, so its code ran again in each of them; put the code that "
    "starts the system under 'if __name__ == \"__main__\":' (or in a function called "
    "from there)"
)
READ_SIZE = 1 << 18
PICKLE = pickle.HIGHEST_PROTOCOL
# Writing to a peer that has gone must raise EPIPE, not kill the process with SIGPIPE.
NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, chained as its ``__cause__``."""

    def __str__(self) -> str:
        return str(self.args[0])


def serve(sock: socket.socket) -> None:
    """A worker's life: read calls, run them in order, send each reply back."""
    # Ctrl-C reaches the whole process group; the parent decides what stops, so that a
    # call is never cut half way by a signal meant for the host.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.setblocking(True)
    try:
        sock.sendall(HEADER.pack(READY, 0), NO_SIGNAL)
    except OSError:
        return  # the parent has gone already
    with sock, sock.makefile("rb", buffering=READ_SIZE) as reader:
        while True:
            header = reader.read(HEADER.size)
            if len(header) < HEADER.size:
                return  # the parent closed the socket or died
            call_id, size = HEADER.unpack(header)
            if call_id == STOP:
                return
            body = reader.read(size)
            if len(body) < size:
                return  # cut off mid-call: the parent is shutting down
            reply = run(body)
            try:
                sock.sendall(HEADER.pack(call_id, len(reply)) + reply, NO_SIGNAL)
            except OSError:
                return  # nobody is left to read it


def run(body: bytes) -> bytes:
    """Run one pickled call; the pickled ``(ok, value, traceback)`` to send back."""
    name = "the call"
    try:
        imported = len(sys.modules)
        fn, args, kwargs = pickle.loads(body)
        if len(sys.modules) != imported:
            freeze_imports()
        name = describe(fn)
        value = fn(*args, **kwargs)
    except (StopIteration, StopAsyncIteration) as exc:
        # An asyncio future refuses these, so the caller could never be told.
        return failure(RuntimeError(f"{name} raised {exc!r} in a worker process"), exc)
    except Exception as exc:  # noqa: BLE001 - the caller gets every failure
        return failure(exc, exc)
    except BaseException as exc:  # noqa: BLE001 - SystemExit would stop the caller's loop
        return failure(RuntimeError(f"{name} raised {exc!r} in a worker process"), exc)
    try:
        return pickle.dumps((True, value, None), PICKLE)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result fails this call only
        problem = TypeError(
            f"{name} returned {type(value).__name__}, which cannot be pickled to send it "
            f"back from the worker process ({exc}); return plain data (dicts, lists, str)"
        )
        return failure(problem, problem)


def freeze_imports() -> None:
    """Exempt what is alive now, the modules just imported above all, from collection.

    Unpickling a call imports its handler's modules the first time; their functions,
    classes and tables live as long as the worker, yet every full garbage collection
    would walk them again (about half of a code-review worker's collection time). Frozen
    objects are still freed when nothing refers to them; only cyclic garbage alive at
    this moment would stay, so what is already garbage is collected first. This happens
    once per newly imported handler module, a few times in a worker's life.
    """
    gc.collect()
    gc.freeze()


def failure(exc: BaseException, cause: BaseException) -> bytes:
    """``exc`` pickled for the caller, with the formatted traceback of ``cause``."""
    text = "".join(traceback.format_exception(cause))
    try:
        return pickle.dumps((False, exc, text), PICKLE)
    except Exception:  # noqa: BLE001 - the traceback still tells what went wrong
        return pickle.dumps((False, None, text), PICKLE)


def describe(fn: object) -> str:
    """``module.qualname`` of a callable, for messages."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}" if module else str(qualname)


def check_not_importing_main(worker_prefix: str = "hybrid-") -> None:
    """Stop a system from starting in a process that is importing the main module for
    multiprocessing (spawn or forkserver): that main module lacks its ``__main__`` guard.

    In one of this pool's workers (named ``<worker_prefix>...``) the worker exits at once
    with :data:`MAIN_GUARD_EXIT`, so the parent can say what is wrong; in any other
    child process it raises ``RuntimeError`` with the fix.
    """
    process_module = sys.modules.get("multiprocessing.process")
    if process_module is None or "__mp_main__" not in sys.modules:
        return
    current = process_module.current_process()
    if not getattr(current, "_inheriting", False):
        return  # the main module was imported already; this is not its import
    if current.name.startswith(worker_prefix):
        import os

        os._exit(MAIN_GUARD_EXIT)
    raise RuntimeError(MAIN_GUARD_FIX)
