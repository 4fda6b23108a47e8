"""Capability lookup: ``Registry.providers(capability)`` as the registry grows.

Registries of 10, 1,000 and 100,000 providers are built with ``register_many`` in two
layouts: spread (ten providers per capability, so the number of capabilities grows with
the registry) and all on one capability (so one capability's provider tuple grows). Each
figure is the time of one lookup of an existing capability, measured with ``timeit`` in
this process; a plain ``dict.get`` on a dict of the same capabilities is timed alongside.
"""

from __future__ import annotations

import timeit
from collections.abc import Mapping

from _common import Report, Table, Target, about, interleaved, ns, ratio

from hybrid_core import ProviderKind, Registry

TITLE = "Capability lookup"
SIZES = (10, 1_000, 100_000)
PER_CAPABILITY = 10
LAYOUTS = {
    "spread": "10 providers per capability",
    "single": "all on one capability",
}
TARGET = 1.5
HEADERS = ("layout", "providers", "capabilities", "`providers()` ns", "`dict.get` ns",
           "vs dict", f"vs {SIZES[0]} providers")  # fmt: skip

Case = tuple[str, int, str]  # (layout, providers, "registry" or "dict")


def capabilities_for(layout: str, size: int) -> list[str]:
    if layout == "single":
        return ["bench.only"]
    return [f"bench.cap{i}" for i in range(max(1, size // PER_CAPABILITY))]


def build(layout: str, size: int) -> tuple[Registry, list[str]]:
    """A registry of ``size`` engine providers, registered in one batch."""
    caps = capabilities_for(layout, size)
    entries = [
        (ProviderKind.ENGINE, f"bench.p{i}", {caps[i % len(caps)]: i % 7}, None)
        for i in range(size)
    ]
    registry = Registry()
    registry.register_many(entries, origin="bench")
    return registry, caps


def timers() -> dict[Case, timeit.Timer]:
    """One timer per case: the registry's lookup and a plain dict's, per layout and size."""
    found: dict[Case, timeit.Timer] = {}
    for layout in LAYOUTS:
        for size in SIZES:
            registry, caps = build(layout, size)
            cap = caps[len(caps) // 2]
            plain = {c: registry.providers(c) for c in caps}
            found[layout, size, "registry"] = timeit.Timer(
                "registry.providers(cap)", globals={"registry": registry, "cap": cap}
            )
            found[layout, size, "dict"] = timeit.Timer(
                "plain.get(cap, ())", globals={"plain": plain, "cap": cap}
            )
    return found


def rows(medians: Mapping[Case, float]) -> list[tuple[str, ...]]:
    found = []
    for layout, label in LAYOUTS.items():
        base = medians[layout, SIZES[0], "registry"]
        for size in SIZES:
            mine, plain = medians[layout, size, "registry"], medians[layout, size, "dict"]
            caps = f"{len(capabilities_for(layout, size)):,}"
            found.append((label, f"{size:,}", caps, ns(mine), ns(plain), ratio(mine, plain),
                          ratio(mine, base)))  # fmt: skip
    return found


def targets(medians: Mapping[Case, float]) -> list[Target]:
    found = []
    for layout, label in LAYOUTS.items():
        growth = medians[layout, SIZES[-1], "registry"] / medians[layout, SIZES[0], "registry"]
        goal = (
            f"`providers()` at {SIZES[-1]:,} providers ({label}) within {TARGET}x "
            f"of the time at {SIZES[0]}"
        )
        found.append(Target(goal, f"{growth:.2f}x", growth <= TARGET))
    return found


def run(*, quick: bool) -> Report:
    number, repeats = (100_000, 3) if quick else (1_000_000, 15)
    cases = timers()
    medians = interleaved(list(cases), repeats, lambda c: cases[c].timeit(number) / number)
    return Report(
        about=about(__doc__),
        runs=f"Each figure is the median of {repeats} rounds of {number:,} lookups",
        tables=[Table(HEADERS, rows(medians))],
        targets=targets(medians),
    )
