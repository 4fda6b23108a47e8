"""Payloads and result shapes: exactly hybrid-core-pyast's, so either engine's report fits."""

from __future__ import annotations

import ast
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hybrid_core
import hybrid_core_pyast
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_core_pyanalysis import run_complexity, run_lint

# (ours, pyast's) for each capability.
PAIRS: list[tuple[Callable[[object], Any], Callable[[object], Any]]] = [
    (run_complexity, hybrid_core_pyast.run_complexity),
    (run_lint, hybrid_core_pyast.run_lint),
]
IDS = ["complexity", "lint"]

FIXTURE = '''\
"""Classes, methods, nested functions and classes, async, lambdas, decorators."""
import functools
import os


class Outer:
    class Inner:
        def method(self, x=[]):
            return [y for y in x if y]

    @property
    def size(self):
        def helper(v):
            def deepest():
                return v or 0
            return deepest
        return helper(1)()

    @staticmethod
    async def fetch(url):
        try:
            return await url
        except OSError:
            return None


def factory(flag):
    class Local:
        def method(self):
            return flag if self else None

    key = lambda item: item if flag else 0
    return Local, key


@functools.cache
def top(a, b):
    if a is "x":
        return f"{a}"
    return a and b
'''


def keys(value: Any) -> Any:
    """The shape of a result: its keys at every level, with list items' shapes."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(item) for item in value]
    return type(value).__name__


def test_complexity_has_pyasts_shape_and_qualnames() -> None:
    payload = {"source": FIXTURE, "path": "fixture.py"}
    ours, theirs = run_complexity(payload), hybrid_core_pyast.run_complexity(payload)
    assert keys(ours) == keys(theirs)
    assert list(ours) == list(theirs)
    located = [(f["qualname"], f["lineno"], f["end_lineno"]) for f in ours["functions"]]
    assert located == [(f["qualname"], f["lineno"], f["end_lineno"]) for f in theirs["functions"]]
    assert [name for name, _, _ in located] == [
        "Outer.Inner.method",
        "Outer.size",
        "Outer.size.<locals>.helper",
        "Outer.size.<locals>.helper.<locals>.deepest",
        "Outer.fetch",
        "factory",
        "factory.<locals>.Local.method",
        "top",
    ]


def test_complexity_scores_of_the_fixture_by_radons_rules() -> None:
    result = run_complexity({"source": FIXTURE})
    assert [f["complexity"] for f in result["functions"]] == [3, 1, 1, 2, 2, 2, 2, 3]
    assert result["totals"] == {"count": 8, "total": 16, "max": 3, "average": 2.0}


def test_lint_has_pyasts_shape() -> None:
    payload = {"source": FIXTURE, "path": "fixture.py"}
    ours, theirs = run_lint(payload), hybrid_core_pyast.run_lint(payload)
    assert list(ours) == list(theirs) == ["path", "ok", "problems", "suppressed"]
    assert ours["problems"] and theirs["problems"]
    shapes = {json.dumps(keys(p)) for p in ours["problems"] + theirs["problems"]}
    shape = {"line": "int", "column": "int", "code": "str", "message": "str"}
    assert shapes == {json.dumps({**shape, "rule": "str", "severity": "str"})}


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
@pytest.mark.parametrize(
    "source", ["def broken(:\n", "x = 1\ny = $\n", "x = 'a\0'\n", "s = '\ud800'\n"]
)
def test_unparsable_code_gives_pyasts_result_exactly(
    ours: Callable[[object], Any], theirs: Callable[[object], Any], source: str
) -> None:
    payload = {"source": source, "path": "bad.py"}
    result = ours(payload)
    assert result == theirs(payload)
    assert result["ok"] is False


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_a_file_that_is_not_utf8_gives_pyasts_encoding_record(
    ours: Callable[[object], Any], theirs: Callable[[object], Any], tmp_path: Path
) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\ns = '\xe9'\n")
    result = ours({"path": str(path)})
    assert result == theirs({"path": path})
    assert (result["error"]["kind"], result["error"]["line"]) == ("encoding", 2)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_a_file_is_read_from_its_path(
    ours: Callable[[object], Any], theirs: Callable[[object], Any], tmp_path: Path
) -> None:
    path = tmp_path / "mod.py"
    path.write_text(FIXTURE, encoding="utf-8")
    assert ours({"path": path}) == ours({"source": FIXTURE, "path": str(path)})


BAD_PAYLOADS = [
    ("x = 1", "pyanalysis payload must be a mapping with 'source', 'path' or 'tree'"),
    (None, "pyanalysis payload must be a mapping"),
    ({}, "pyanalysis payload has none of 'source', 'path' or 'tree'"),
    ({"source": b"x = 1"}, "pyanalysis payload key 'source' must be a str of Python code"),
    ({"path": ""}, "pyanalysis payload key 'path' must be a non-empty str"),
    ({"tree": "x = 1"}, "pyanalysis payload key 'tree' must be an ast.Module"),
    ({"source": "x", "module": "pkg..mod"}, "pyanalysis payload key 'module' must be"),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
@pytest.mark.parametrize(("payload", "start"), BAD_PAYLOADS)
def test_bad_payloads_raise_payload_error_naming_this_distribution(
    ours: Callable[[object], Any], theirs: Callable[[object], Any], payload: object, start: str
) -> None:
    with pytest.raises(hybrid_core.PayloadError) as info:
        ours(payload)
    assert str(info.value).startswith(start)
    with pytest.raises(hybrid_core.PayloadError) as stdlib:
        theirs(payload)
    assert str(info.value).removeprefix("pyanalysis") == str(stdlib.value).removeprefix("pyast")


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_an_unreadable_path_raises_oserror(
    ours: Callable[[object], Any], theirs: Callable[[object], Any], tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        ours({"path": tmp_path / "missing.py"})


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_results_are_plain_json_data(
    ours: Callable[[object], Any], theirs: Callable[[object], Any]
) -> None:
    result = ours({"source": FIXTURE, "path": "f.py", "module": "pkg.f", "extra": 1})
    assert json.loads(json.dumps(result)) == result
    assert "error" not in result


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_handlers_and_parsed_trees_cross_process_boundaries(
    ours: Callable[[object], Any], theirs: Callable[[object], Any]
) -> None:
    assert pickle.loads(pickle.dumps(ours)) is ours
    payload = pickle.loads(pickle.dumps({"tree": ast.parse(FIXTURE), "path": "f.py"}))
    assert ours(payload) == ours({"source": FIXTURE, "path": "f.py"})


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_gives_a_result_never_an_exception(text: str) -> None:
    expected = parses(text)
    for ours, theirs in PAIRS:
        result = ours({"source": text})
        assert result["ok"] is expected
        assert json.loads(json.dumps(result)) == result
        if not expected:
            assert result == theirs({"source": text})
