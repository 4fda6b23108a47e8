"""Small helpers whose heavy imports wait until first use (import time is a budget)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

__all__ = ["PLUGIN_FAULTS", "close_matches", "new_rng"]

# What plugin code (a hook, a strategy, a sink) may raise and still be only its own
# failure: a plugin calling sys.exit() or raising KeyboardInterrupt itself must not end
# the host. Anything else (a host's own BaseException, such as the CLI's signal
# exception, or CancelledError) passes through, so a real interrupt still interrupts.
PLUGIN_FAULTS = (Exception, SystemExit, KeyboardInterrupt)


def close_matches(
    word: str, possibilities: Iterable[str], n: int = 1, cutoff: float = 0.6
) -> list[str]:
    """The known names closest to ``word`` (difflib), for did-you-mean messages."""
    import difflib

    return difflib.get_close_matches(word, list(possibilities), n=n, cutoff=cutoff)


def new_rng() -> random.Random:
    """A fresh random generator seeded from the OS."""
    import random

    return random.Random()
