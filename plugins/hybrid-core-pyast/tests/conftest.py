"""Shared fixtures for the hybrid_core_pyast tests."""

from __future__ import annotations

from typing import Any

import pytest

import hybrid_core_pyast


@pytest.fixture(scope="session")
def engines() -> dict[str, Any]:
    """The engines the plugin's hook returns, by name."""
    return {engine.name: engine for engine in hybrid_core_pyast.hybrid_engines()}
