"""Ctrl-C and SIGTERM in the ``hybrid`` command: one line, an exit code, nothing left behind.

The library installs no signal handler (a host keeps control of its own signals); the
command line does. Outside a run, SIGINT and SIGTERM raise :class:`Stopped` in the main
thread, which ``main`` turns into one line and exit 130 or 143. During a run,
:class:`Interrupts` takes over on the event loop: the first signal asks the run to stop
(its steps are cancelled, completed work is kept and reported), a second one kills the
worker processes and exits at once. The previous handlers are put back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

__all__ = [
    "EXIT_CODES",
    "Interrupts",
    "Stopped",
    "exit_code",
    "exit_on_signals_while_loading",
    "stop_on_signals",
]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def exit_code(signum: int) -> int:
    """The shell's convention: 128 plus the signal's number (130 for Ctrl-C)."""
    return EXIT_CODES.get(signal.Signals(signum), 128 + signum)


class Stopped(BaseException):
    """Raised in the main thread by SIGINT or SIGTERM outside a run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def _exit_while_loading(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"interrupted\n" if signum == signal.SIGINT else b"terminated\n")
    raise SystemExit(exit_code(signum))


def exit_on_signals_while_loading() -> None:
    """Until ``main`` takes over: SIGINT and SIGTERM end the process with one line.

    Importing the command (click, the package, plugins' hook modules) takes a moment in
    which Python's defaults would print a KeyboardInterrupt traceback or die silently.
    """
    with contextlib.suppress(ValueError):  # not the main thread: a host's own business
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, _exit_while_loading)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise :class:`Stopped` (main thread only)."""
    previous: dict[int, Any] = {}
    try:
        for sig in SIGNALS:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # ignored by whoever started us (a background job): keep it so
            previous[sig] = signal.signal(sig, _raise_stopped)
    except ValueError:  # not the main thread: leave the host's handlers alone
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Interrupts:
    """On a running loop: a first SIGINT or SIGTERM calls ``on_first(name)``; a second
    calls ``on_force()`` and ends the process with the signal's exit code."""

    def __init__(self, on_first: Callable[[str], None], on_force: Callable[[], None]) -> None:
        self.signum: int | None = None
        self._on_first, self._on_force = on_first, on_force
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def __enter__(self) -> Interrupts:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            if previous is signal.SIG_IGN:
                continue  # a signal the parent ignores for us stays ignored
            try:
                loop.add_signal_handler(sig, self._fire, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # no loop signal handling here (Windows, a side thread)
            self._previous[sig] = previous
        self._loop = loop
        return self

    def _fire(self, sig: int) -> None:
        if self.signum is None:
            self.signum = sig
            self._on_first(signal.Signals(sig).name)
            return
        self._on_force()
        sys.stderr.write(f"{signal.Signals(sig).name} again: stopped at once\n")
        sys.stderr.flush()
        os._exit(exit_code(sig))

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        for sig, previous in self._previous.items():
            self._loop.remove_signal_handler(sig)
            signal.signal(sig, previous)
        self._previous.clear()
