"""The routing-strategy protocol and the built-in ``priority`` strategy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ._context import ExecutionContext
from ._records import Provider

__all__ = ["PriorityStrategy", "RouteRequest", "RoutingStrategy"]


@attrs.frozen
class RouteRequest:
    """What is being asked for: a capability, its payload, and the caller's context."""

    capability: str
    payload: Any
    context: ExecutionContext | None = None


@runtime_checkable
class RoutingStrategy(Protocol):
    """Orders candidate providers for a request, best first.

    ``candidates`` arrive ordered by priority (highest first, ties in registration order).
    A strategy returns them, or a subset of them, in the order they should be tried.
    """

    name: str

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Sequence[Provider]:
        """Return the candidates to try, best first."""


class PriorityStrategy:
    """Try providers by declared priority, highest first; ties in registration order."""

    name = "priority"

    def order(self, candidates: Sequence[Provider], request: RouteRequest) -> Sequence[Provider]:
        return candidates

    def __repr__(self) -> str:
        return "<PriorityStrategy>"
