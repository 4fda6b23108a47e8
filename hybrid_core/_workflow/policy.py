"""Per-step policy objects: how a step is retried, and what its compensation decides."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs

from .._core.util import new_rng

if TYPE_CHECKING:
    import random

__all__ = ["NO_RETRY", "ContinueWith", "RetryPolicy", "RetryStep"]

# Seeded from os.urandom when first needed; jitter needs spread, not secrecy.
_rng: random.Random | None = None


def _exception_types(value: object) -> tuple[type[BaseException], ...]:
    types = value if isinstance(value, tuple) else (value,)
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise TypeError(
                f"RetryPolicy: retry_on must be an exception class or a tuple of them, "
                f"not {value!r}"
            )
    return types


def _number(name: str, value: float, *, low: float, high: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"RetryPolicy: {name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"RetryPolicy: {name} must be between {low} and {high}, not {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many times a step is attempted, and how long to wait between attempts.

    ``max_attempts`` counts every attempt, the first included (1 means no retry). The wait
    before attempt ``n + 1`` is ``backoff * factor ** (n - 1)``, capped at ``max_backoff``
    and spread by ``jitter`` (a fraction: 0.1 varies it by up to 10% either way). Only
    errors that are instances of ``retry_on`` are retried automatically; any failure can
    still be retried by the step's compensation, within ``max_attempts``.
    """

    max_attempts: int = 3
    backoff: float = 0.05
    factor: float = 2.0
    max_backoff: float = 5.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), converter=_exception_types
    )

    def __attrs_post_init__(self) -> None:
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"RetryPolicy: max_attempts must be an int >= 1, not {attempts!r}")
        _number("backoff", self.backoff, low=0.0)
        _number("factor", self.factor, low=1.0)
        _number("max_backoff", self.max_backoff, low=0.0)
        _number("jitter", self.jitter, low=0.0, high=1.0)

    def retries(self, error: BaseException, attempt: int) -> bool:
        """True when ``error``, raised by attempt number ``attempt``, earns another attempt."""
        return attempt < self.max_attempts and isinstance(error, self.retry_on)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.backoff * self.factor ** (attempt - 1))
        if self.jitter and base:
            global _rng  # noqa: PLW0603 - one generator for the process, made when needed
            if _rng is None:
                _rng = new_rng()
            base *= 1.0 + self.jitter * (2.0 * _rng.random() - 1.0)
        return min(self.max_backoff, max(0.0, base))


NO_RETRY = RetryPolicy(max_attempts=1, backoff=0.0)
"""The default policy: one attempt, no retry."""


@attrs.frozen
class RetryStep:
    """Returned by a compensation: attempt the step again (within its ``max_attempts``)."""


@attrs.frozen
class ContinueWith:
    """Returned by a compensation: the step counts as done, with ``value`` as its result."""

    value: Any
