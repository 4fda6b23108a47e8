"""Routing decisions: the ``Decision`` record, the raw ``Choice`` it is made from, its reason.

A strategy's answer goes through :func:`normalise` before the router trusts it. The reason
text is written only when a ``Decision`` is made (for an event or ``explain``), so a
request nobody watches never pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._core.records import Provider

__all__ = ["Choice", "Decision", "normalise"]


@attrs.frozen
class Decision:
    """One routing decision: the candidates, their scores, the order chosen, and why."""

    capability: str
    strategy: str
    candidates: tuple[str, ...]
    scores: Mapping[str, float | None]
    order: tuple[str, ...]
    reason: str
    cooled: tuple[str, ...] = ()
    stats: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    @property
    def choice(self) -> str:
        return self.order[0]

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        out["choice"] = self.choice
        out["scores"] = dict(self.scores)
        out["stats"] = {k: dict(v) for k, v in self.stats.items()}
        return out


class Choice:
    """The raw outcome of one routing decision; a :class:`Decision` is made from it only
    when someone looks (an event, ``explain``), to keep the request path lean."""

    __slots__ = (
        "available",
        "avoid",
        "capability",
        "everyone",
        "note",
        "ordered",
        "panic",
        "strategy",
    )  # fmt: skip

    def __init__(
        self,
        capability: str,
        strategy: str,
        everyone: tuple[Provider, ...],
        available: Sequence[Provider],
        ordered: list[tuple[Provider, float | None]],
        note: str,
        panic: bool,
        avoid: Sequence[str],
    ) -> None:
        self.capability, self.strategy, self.everyone = capability, strategy, everyone
        self.available, self.ordered, self.note = available, ordered, note
        self.panic, self.avoid = panic, avoid

    def decision(self, stats: Mapping[str, Mapping[str, Any]] | None = None) -> Decision:
        cooled = tuple(p.name for p in self.everyone if p not in self.available)
        return Decision(
            capability=self.capability,
            strategy=self.strategy,
            candidates=tuple(p.name for p in self.everyone),
            scores={p.name: s for p, s in self.ordered},
            order=tuple(p.name for p, _ in self.ordered),
            reason=_reason(self.strategy, self.ordered, self.note, self.panic, cooled, self.avoid),
            cooled=cooled,
            stats=stats or {},
        )


def normalise(
    result: object, candidates: Sequence[Provider]
) -> list[tuple[Provider, float | None]]:
    """A strategy's ``order()`` result as ``[(provider, score or None), ...]``.

    Raises ``TypeError`` or ``ValueError`` when the result is not a non-empty list of the
    candidates given (bare or paired with a score); the router then falls back to priority.
    """
    if isinstance(result, (str, bytes)) or not isinstance(result, Sequence):
        raise TypeError(f"order() returned {type(result).__name__}, not a list")
    allowed = {id(p) for p in candidates}  # by identity: Provider's == compares every field
    out: list[tuple[Provider, float | None]] = []
    for item in result:
        provider, score = item if isinstance(item, tuple) and len(item) == 2 else (item, None)
        if not isinstance(provider, Provider) or id(provider) not in allowed:
            raise TypeError(f"order() returned {provider!r}, which is not one of the candidates")
        out.append((provider, None if score is None else float(score)))
    if not out:
        raise ValueError("order() returned no candidate")
    return out


def _reason(
    strategy: str,
    ordered: Sequence[tuple[Provider, float | None]],
    note: str,
    panic: bool,
    cooled: Sequence[str],
    avoid: Sequence[str],
) -> str:
    first, score = ordered[0]
    parts = [note] if note else [f"{strategy} chose {first.name!r}"]
    if score is not None and not note:
        parts[0] += f" (score {score:.6g})"
    if panic:
        parts.append("every provider is cooling down, so all were tried (panic)")
    elif cooled:
        parts.append(f"cooling down: {', '.join(cooled)}")
    if avoid:
        parts.append(f"avoiding after failure: {', '.join(dict.fromkeys(avoid))}")
    return "; ".join(parts)
