"""Payload checking shared by every engine, and the plain-data shape of every result."""

from __future__ import annotations

import ast
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_core_pyast import run_complexity, run_imports, run_lint, run_parse, run_symbols
from hybrid_core_pyast._source import MAX_SOURCE_BYTES

HANDLERS: list[Callable[[object], Any]] = [
    run_parse,
    run_symbols,
    run_imports,
    run_complexity,
    run_lint,
]

RICH = '''\
from __future__ import annotations
from . import sibling
import typing

if typing.TYPE_CHECKING:
    from collections.abc import Iterator


class Walker:
    """Walks."""

    @staticmethod
    def walk(items, *, limit=None):
        for item in items:
            if item and limit or not item:
                yield item
        else:
            return


async def fetch(url):
    import json
    match url:
        case str(): return json.loads(url)
        case _: return None
'''

BAD_PAYLOADS = [
    ("x = 1", TypeError, "payload must be a mapping with 'source', 'path' or 'tree'"),
    (["x = 1"], TypeError, "not list"),
    (None, TypeError, "not NoneType"),
    ({}, ValueError, "has none of 'source', 'path' or 'tree'"),
    ({"pth": "m.py"}, ValueError, "give the code as 'source'"),
    ({"source": b"x = 1"}, TypeError, "key 'source' must be a str of Python code"),
    ({"source": 1}, TypeError, "key 'source' must be a str"),
    ({"path": 3}, TypeError, "key 'path' must be a non-empty str"),
    ({"path": ""}, TypeError, "key 'path' must be a non-empty str"),
    ({"tree": "x = 1"}, TypeError, "key 'tree' must be an ast.Module"),
    ({"tree": ast.parse("x", mode="eval")}, TypeError, "key 'tree' must be an ast.Module"),
    ({"source": "x", "module": "pkg..mod"}, ValueError, "key 'module' must be the file's"),
    ({"source": "x", "module": 3}, ValueError, "key 'module' must be the file's"),
]


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
@pytest.mark.parametrize(("payload", "error", "fragment"), BAD_PAYLOADS)
def test_bad_payloads_raise_one_clear_sentence(
    handler: Callable[[object], Any], payload: object, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as info:
        handler(payload)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
def test_unknown_payload_keys_are_ignored(handler: Callable[[object], Any]) -> None:
    assert handler({"source": "x = 1\n", "step": "review", "options": {}})["ok"] is True


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
@pytest.mark.parametrize("source", [RICH, "def broken(:\n"])
def test_results_are_plain_json_data(handler: Callable[[object], Any], source: str) -> None:
    result = handler({"source": source, "path": "pkg/rich.py", "module": "pkg.rich"})
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
def test_failed_results_carry_the_error_and_empty_data(handler: Callable[[object], Any]) -> None:
    result = handler({"source": "def broken(:\n", "path": "b.py"})
    assert (result["ok"], result["path"], result["error"]["kind"]) == (False, "b.py", "syntax")
    for key in ("symbols", "imports", "functions", "problems"):
        if key in result and handler is not run_parse:
            assert result[key] == []


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
def test_successful_results_have_no_error_key(handler: Callable[[object], Any]) -> None:
    assert "error" not in handler({"source": RICH})


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
def test_handlers_pickle_by_name_for_process_pools(handler: Callable[[object], Any]) -> None:
    assert pickle.loads(pickle.dumps(handler)) is handler


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.__name__)
def test_a_parsed_tree_pickles_and_gives_the_same_result(
    handler: Callable[[object], Any],
) -> None:
    tree = ast.parse(RICH)
    payload = pickle.loads(pickle.dumps({"tree": tree, "source": RICH, "path": "r.py"}))
    assert handler(payload) == handler({"source": RICH, "path": "r.py"})


def parses(text: str) -> bool:
    """Whether ``ast.parse`` accepts ``text``, whatever way it refuses."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_every_engine(text: str) -> None:
    expected = parses(text)
    for handler in HANDLERS:
        result = handler({"source": text})
        assert json.loads(json.dumps(result)) == result
        assert result["ok"] is expected
        assert result["ok"] is ("error" not in result)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_gives_a_result_never_an_exception(text: str) -> None:
    check_every_engine(text)


def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    zero = tmp_path / "zero.py"
    zero.symlink_to("/dev/zero")  # reading it would never end
    for path in (fifo, zero):
        with pytest.raises(OSError, match="not a regular file"):
            run_symbols({"path": str(path)})


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    with big.open("wb") as out:  # sparse: no disk is spent on it
        out.truncate(MAX_SOURCE_BYTES + 1)
    with pytest.raises(OSError, match=f"larger than {MAX_SOURCE_BYTES} bytes"):
        run_symbols({"path": str(big)})
