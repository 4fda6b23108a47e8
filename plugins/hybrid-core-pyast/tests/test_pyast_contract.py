"""Every engine of hybrid-core-pyast passes hybrid_core's engine contract, as its hook
returns it: in worker processes, from sync code and a host's loop, and in threads."""

from __future__ import annotations

from typing import Any

import hybrid_core
import pytest
from hybrid_core.testing import EngineContract

import hybrid_core_pyast

SOURCE = '''\
import os


def f(a, b=[]):
    if a:
        return os.sep
    return b
'''
NAMES = [engine.name for engine in hybrid_core_pyast.hybrid_engines()]


class TestPyastEngines(EngineContract):
    @pytest.fixture(params=NAMES)
    def engine(self, request: pytest.FixtureRequest) -> hybrid_core.Engine:
        engines = {e.name: e for e in hybrid_core_pyast.hybrid_engines()}
        return engines[request.param]

    @pytest.fixture
    def payload(self) -> dict[str, str]:
        return {"path": "pkg/sample.py", "source": SOURCE, "module": "pkg.sample"}

    def check_result(self, result: Any, payload: Any) -> None:
        assert result["ok"] is True, result
        assert result["path"] == payload["path"]


def test_the_contract_covers_every_engine_of_the_hook() -> None:
    assert sorted(NAMES) == sorted(
        ["pyast.parse", "pyast.symbols", "pyast.imports", "pyast.complexity", "pyast.lint"]
    )
