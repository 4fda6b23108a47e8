"""The pytest plugin of hybrid_core: fixtures for testing plugins and their providers.

pytest loads it through the ``pytest11`` entry point wherever hybrid_core is installed.
It only defines fixtures (nothing runs unless a test asks for one), so it costs the
projects that do not use it nothing beyond its import:

``hybrid_plugins``
    the plugin objects under test; ``[]`` unless a test module or class overrides it
    (``return [my_plugin]``, or the module itself).
``hybrid_system``
    a started :class:`~hybrid_core.Hybrid` built from ``hybrid_plugins`` (no
    entry-point scan, strict: a plugin that fails to load fails the test), closed
    after the test.
``hybrid_sink``
    the :class:`~hybrid_core.InMemorySink` attached to ``hybrid_system``; on its own,
    a fresh memory sink.
``hybrid_candidates``
    four engine providers of the capability ``contract.work``, ordered as the router
    hands them to a strategy.
``hybrid_stats``
    live :class:`~hybrid_core.ProviderStats` for ``hybrid_candidates``: some unused,
    some busy, slow or failing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._core.records import Provider
    from .._routing.strategies import ProviderStats
    from .._system import Hybrid
    from .._telemetry.bus import InMemorySink

__all__ = [
    "hybrid_candidates",
    "hybrid_plugins",
    "hybrid_sink",
    "hybrid_stats",
    "hybrid_system",
]


@pytest.fixture
def hybrid_plugins() -> list[Any]:
    """The plugin objects ``hybrid_system`` is built from; override it."""
    return []


@pytest.fixture
def hybrid_sink() -> InMemorySink:
    """A fresh in-memory sink (the one ``hybrid_system`` reports to, when both are used)."""
    from .._telemetry.bus import InMemorySink

    return InMemorySink()


@pytest.fixture
def hybrid_system(hybrid_plugins: list[Any], hybrid_sink: InMemorySink) -> Iterator[Hybrid]:
    """A started system of ``hybrid_plugins`` alone, reporting to ``hybrid_sink``."""
    from .._system import Hybrid

    system = Hybrid(plugins=hybrid_plugins, entry_points=False, strict=True, sinks=[hybrid_sink])
    with system:
        yield system


@pytest.fixture
def hybrid_candidates() -> list[Provider]:
    """Four providers of ``contract.work``, highest priority first, as a strategy gets them."""
    from ._fakes import candidates

    return candidates(4, rng=random.Random(7))


@pytest.fixture
def hybrid_stats(hybrid_candidates: list[Provider]) -> dict[str, ProviderStats]:
    """Live statistics for ``hybrid_candidates``, by provider name."""
    from ._fakes import stats

    return stats(hybrid_candidates, rng=random.Random(8))
