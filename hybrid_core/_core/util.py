"""Small helpers whose heavy imports wait until first use (import time is a budget)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

__all__ = ["close_matches", "new_rng"]


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
