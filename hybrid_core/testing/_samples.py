"""Module-level callables the contract suites send to executors and engines.

They live in an importable module of their own so that a worker process (local or on a
cluster) finds each one by its module and name.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["ContractError", "add", "fail", "fail_builtin", "pid", "upper", "wait_for_release"]


class ContractError(Exception):
    """An exception type of the suite's own, to see that a type survives the trip back."""


def add(a: int, b: int = 0) -> int:
    return a + b


def pid() -> int:
    """The process the call ran in."""
    return os.getpid()


def upper(text: Any) -> str:
    return str(text).upper()


def fail(message: str) -> None:
    raise ContractError(message)


def fail_builtin(message: str) -> None:
    raise LookupError(message)


def wait_for_release(started: str, release: str, seconds: float) -> str:
    """Say it started (touch ``started``), then wait until ``release`` exists.

    A file, not an event, so that the wait can be ended from another process; it gives
    up after ``seconds`` so that nothing it holds outlives a broken test for long.
    """
    Path(started).touch()
    until = time.monotonic() + seconds
    while not os.path.exists(release):
        if time.monotonic() > until:
            return "timed out"
        time.sleep(0.01)
    return f"released in {threading.current_thread().name}"
