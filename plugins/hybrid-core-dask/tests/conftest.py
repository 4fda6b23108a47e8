"""Fixtures: a real cluster of subprocesses; the tests skip where distributed is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="distributed is not installed")
sys.path.insert(0, str(Path(__file__).parent))

from dask_support import Cluster


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """A scheduler and two workers (``dask scheduler``, ``dask worker``) on 127.0.0.1."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setenv("DASK_LOG", str(tmp_path / "log"))
    found = Cluster(tmp_path)
    try:
        yield found.start()
    finally:
        found.stop()
