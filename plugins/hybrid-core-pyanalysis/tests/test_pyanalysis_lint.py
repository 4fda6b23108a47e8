"""pyflakes.lint: pyflakes' messages as sorted problems, and agreement with pyast.lint."""

from __future__ import annotations

import ast
import inspect
import textwrap

import hybrid_core_pyast
import pytest
from pyflakes.checker import Checker

from hybrid_core_pyanalysis import run_lint

SOURCE = """\
import os
import sys
from typing import List

def f(x):
    unused = 1
    return undefined_name + x

def f(y):
    return f"plain" if y is "a" else sys.argv
"""


def positions(source: str, path: str = "m.py") -> list[tuple[int, int, str]]:
    result = run_lint({"source": textwrap.dedent(source), "path": path})
    assert result["ok"] is True
    return [(p["line"], p["column"], p["code"]) for p in result["problems"]]


def test_pyflakes_messages_become_sorted_problems() -> None:
    # pyflakes reports dead-scope findings (unused imports and variables) last; here
    # errors come first, then each severity by line and column.
    result = run_lint({"source": SOURCE, "path": "m.py"})
    assert [(p["line"], p["column"], p["code"]) for p in result["problems"]] == [
        (7, 12, "UndefinedName"),
        (10, 24, "IsLiteral"),
        (1, 1, "UnusedImport"),
        (3, 1, "UnusedImport"),
        (6, 5, "UnusedVariable"),
        (9, 1, "RedefinedWhileUnused"),
        (10, 12, "FStringMissingPlaceholders"),
    ]


def test_messages_are_pyflakes_own_text() -> None:
    messages = {p["code"]: p["message"] for p in run_lint({"source": SOURCE})["problems"]}
    assert messages["UnusedVariable"] == "local variable 'unused' is assigned to but never used"
    assert messages["UndefinedName"] == "undefined name 'undefined_name'"
    assert messages["RedefinedWhileUnused"] == "redefinition of unused 'f' from line 5"
    assert messages["FStringMissingPlaceholders"] == "f-string is missing placeholders"


def test_the_path_is_the_file_name_pyflakes_is_told() -> None:
    # pyflakes does not report names in __all__ it cannot find in a package's __init__.py.
    source = '__all__ = ["missing"]\n'
    assert positions(source, "pkg/mod.py") == [(1, 1, "UndefinedExport")]
    assert positions(source, "pkg/__init__.py") == []


def test_docstrings_are_not_checked_as_doctests(monkeypatch: pytest.MonkeyPatch) -> None:
    # pyflakes checks doctests by default when PYFLAKES_DOCTEST is set as it is imported.
    init = Checker.__init__
    parameters = inspect.signature(init).parameters.values()
    names = [p.name for p in parameters if p.default is not p.empty]
    defaults = list(init.__defaults__)
    defaults[names.index("withDoctest")] = True
    monkeypatch.setattr(init, "__defaults__", tuple(defaults))
    source = 'def f():\n    """\n    >>> undefined_in_doctest\n    """\n'
    assert Checker(ast.parse(source)).messages  # what pyflakes would report
    assert positions(source) == []


def test_clean_code_has_no_problems() -> None:
    result = run_lint({"source": "import os\n\nprint(os.sep)\n", "path": "ok.py"})
    assert result == {"path": "ok.py", "ok": True, "problems": [], "suppressed": 0}


def test_code_that_does_not_parse_gives_pyasts_error_result() -> None:
    payload = {"source": "import os\ndef f(:\n", "path": "bad.py"}
    result = run_lint(payload)
    assert result == hybrid_core_pyast.run_lint(payload)
    assert (result["ok"], result["error"]["kind"], result["problems"]) == (False, "syntax", [])


def test_a_tree_gives_the_same_result_as_its_source() -> None:
    tree = ast.parse(SOURCE)
    assert run_lint({"tree": tree, "path": "t.py"}) == run_lint({"source": SOURCE, "path": "t.py"})


# The checks both engines have: same code, same place.

SHARED = """\
from __future__ import annotations
import os, sys
import json as j
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pkg import Unused
import re
import re

__all__ = ["j"]


def g() -> "Iterator[int]":
    return sys.argv


def g():
    return f"plain" if sys is "x" else f"{sys:>10}"


class C:
    def m(self):
        pass

    def m(self):
        return f"{{}}"
"""
SHARED_CODES = {"UnusedImport", "RedefinedWhileUnused", "IsLiteral", "FStringMissingPlaceholders"}


def test_pyast_and_pyflakes_agree_on_the_checks_they_share() -> None:
    flakes = [p for p in positions(SHARED) if p[2] in SHARED_CODES]
    result = hybrid_core_pyast.run_lint({"source": SHARED, "path": "m.py"})
    stdlib = [(p["line"], p["column"], p["code"]) for p in result["problems"]]
    assert (
        flakes
        == stdlib
        == [
            (19, 24, "IsLiteral"),  # the one error comes first
            (2, 1, "UnusedImport"),
            (7, 5, "UnusedImport"),
            (9, 1, "RedefinedWhileUnused"),
            (9, 1, "UnusedImport"),
            (18, 1, "RedefinedWhileUnused"),
            (19, 12, "FStringMissingPlaceholders"),
            (26, 5, "RedefinedWhileUnused"),
            (27, 16, "FStringMissingPlaceholders"),
        ]
    )


def test_code_nested_deeper_than_pyflakes_can_walk_raises_a_recursion_error() -> None:
    source = "x = " + " + ".join(["a"] * 1500) + "\n"
    with pytest.raises(RecursionError, match=r"^deep\.py: the code nests too deeply"):
        run_lint({"source": source, "path": "deep.py"})
    assert hybrid_core_pyast.run_lint({"source": source})["ok"] is True
