"""python.symbols: qualified names, kinds, positions, signatures, docstrings, visibility."""

from __future__ import annotations

import asyncio
from typing import Any

from hybrid_core_pyast import run_symbols

SOURCE = '''\
import functools


class Repository:
    """Stores things."""

    class _Cache:
        def get(self, key, /, default=None):
            pass

    @functools.lru_cache(maxsize=None)
    def find(self, name, *args, strict=False, **options):
        """Find one."""

        def match(item):
            return item

        return match

    async def _load(self):
        pass

    def __len__(self):
        return 0


async def fetch(url, *, retries=3):
    class Result:
        def ok(self):
            return True
    return Result


if True:
    def _setup():
        ""
        pass
'''


def symbol(qualname: str, kind: str, lines: tuple[int, int], **fields: Any) -> dict[str, Any]:
    name = qualname.rsplit(".", 1)[-1]
    record = {
        "qualname": qualname,
        "name": name,
        "kind": kind,
        "lineno": lines[0],
        "end_lineno": lines[1],
        "arguments": [],
        "decorators": [],
        "has_docstring": False,
        "is_public": True,
    }
    return record | fields


EXPECTED = [
    symbol("Repository", "class", (4, 24), has_docstring=True),
    symbol("Repository._Cache", "class", (7, 9), is_public=False),
    symbol(
        "Repository._Cache.get",
        "method",
        (8, 9),
        is_public=False,
        arguments=["self", "key", "default"],
    ),
    symbol(
        "Repository.find",
        "method",
        (12, 18),
        has_docstring=True,
        arguments=["self", "name", "*args", "strict", "**options"],
        decorators=["functools.lru_cache(maxsize=None)"],
    ),
    symbol(
        "Repository.find.<locals>.match", "function", (15, 16), is_public=False, arguments=["item"]
    ),
    symbol("Repository._load", "async method", (20, 21), is_public=False, arguments=["self"]),
    symbol("Repository.__len__", "method", (23, 24), arguments=["self"]),
    symbol("fetch", "async function", (27, 31), arguments=["url", "retries"]),
    symbol("fetch.<locals>.Result", "class", (28, 30), is_public=False),
    symbol("fetch.<locals>.Result.ok", "method", (29, 30), is_public=False, arguments=["self"]),
    symbol("_setup", "function", (35, 37), is_public=False, has_docstring=True),
]


def test_every_definition_in_source_order_with_its_details() -> None:
    result = run_symbols({"source": SOURCE, "path": "repo.py"})
    assert result["path"] == "repo.py"
    assert result["ok"] is True
    assert result["symbols"] == EXPECTED


def test_qualified_names_match_what_python_computes() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "repo.py", "exec"), namespace)  # only defines; calls nothing
    repository = namespace["Repository"]
    find = repository.find.__wrapped__
    result_class = asyncio.run(namespace["fetch"]("url"))
    computed = [
        repository._Cache.get.__qualname__,
        find.__qualname__,
        find(repository(), "x").__qualname__,
        repository._load.__qualname__,
        result_class.__qualname__,
        result_class.ok.__qualname__,
        namespace["_setup"].__qualname__,
    ]
    expected = [EXPECTED[i]["qualname"] for i in (2, 3, 4, 5, 8, 9, 10)]
    assert computed == expected


def test_decorated_definitions_start_at_the_def_line() -> None:
    source = "@first\n@second(1,\n    2)\ndef f():\n    pass\n"
    (only,) = run_symbols({"source": source})["symbols"]
    assert (only["lineno"], only["end_lineno"]) == (4, 5)
    assert only["decorators"] == ["first", "second(1, 2)"]


def test_a_module_without_definitions_has_no_symbols() -> None:
    assert run_symbols({"source": "x = lambda: 1\n"})["symbols"] == []


def test_a_syntax_error_gives_no_symbols() -> None:
    result = run_symbols({"source": "class:\n", "path": "bad.py"})
    assert (result["ok"], result["symbols"]) == (False, [])
    assert result["error"]["kind"] == "syntax"
