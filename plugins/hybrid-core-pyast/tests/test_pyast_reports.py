"""report_complexity and report_lint: other libraries' numbers in this distribution's shapes."""

from __future__ import annotations

import ast
from collections.abc import Iterable

import hybrid_core
import pytest

from hybrid_core_pyast import (
    LintFinding,
    LintProblem,
    report_complexity,
    report_lint,
    run_complexity,
    run_lint,
)

SOURCE = """\
class Shape:
    def area(self):
        def helper():
            pass
        return 0


async def fetch():
    pass
"""


def statements(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A stand-in score: the number of statements directly in the body."""
    return len(node.body)


def test_report_complexity_scores_every_def_with_the_given_function() -> None:
    result = report_complexity({"source": SOURCE, "path": "s.py"}, statements)
    assert result == {
        "path": "s.py",
        "ok": True,
        "functions": [
            {"qualname": "Shape.area", "lineno": 2, "end_lineno": 5, "complexity": 2, "rank": "A"},
            {
                "qualname": "Shape.area.<locals>.helper",
                "lineno": 3,
                "end_lineno": 4,
                "complexity": 1,
                "rank": "A",
            },
            {"qualname": "fetch", "lineno": 8, "end_lineno": 9, "complexity": 1, "rank": "A"},
        ],
        "totals": {"count": 3, "total": 4, "max": 2, "average": 1.33},
    }


def test_report_complexity_ranks_the_given_scores() -> None:
    result = report_complexity({"source": "def f():\n    pass\n"}, lambda node: 41)
    assert [(f["complexity"], f["rank"]) for f in result["functions"]] == [(41, "F")]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_report_complexity_refuses_a_score_that_is_not_a_count(bad: object) -> None:
    with pytest.raises(TypeError, match=r"complexity of 'f' must be an int >= 0"):
        report_complexity({"source": "def f():\n    pass\n"}, lambda node: bad)  # type: ignore[arg-type,return-value]


def test_report_complexity_does_not_call_the_score_for_unparsable_code() -> None:
    def refuse(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        raise AssertionError("scored a function of code that does not parse")

    result = report_complexity({"source": "def f(:\n", "path": "b.py"}, refuse)
    assert result == run_complexity({"source": "def f(:\n", "path": "b.py"})
    assert result["ok"] is False


# Codes outside the table of known checks: no rule code, and a warning.
UNKNOWN = {"rule": None, "severity": "warning"}


def out_of_order(tree: ast.Module, path: str) -> Iterable[LintFinding]:
    yield {"line": 2, "column": 1, "code": "B", "message": f"in {path}"}
    yield {"line": 1, "column": 5, "code": "A", "message": "second"}
    yield {"line": 1, "column": 5, "code": "A", "message": "first"}
    yield {"line": 1, "column": 1, "code": "Z", "message": "z"}


def test_report_lint_sorts_what_the_check_finds() -> None:
    result = report_lint({"source": "x = 1\n", "path": "l.py"}, out_of_order)
    assert result == {
        "path": "l.py",
        "ok": True,
        "problems": [
            {"line": 1, "column": 1, "code": "Z", "message": "z", **UNKNOWN},
            {"line": 1, "column": 5, "code": "A", "message": "first", **UNKNOWN},
            {"line": 1, "column": 5, "code": "A", "message": "second", **UNKNOWN},
            {"line": 2, "column": 1, "code": "B", "message": "in l.py", **UNKNOWN},
        ],
        "suppressed": 0,
    }


def test_report_lint_gives_the_check_the_parsed_tree_once() -> None:
    seen: list[ast.Module] = []
    tree = ast.parse("import os\n")

    def check(module: ast.Module, path: str) -> list[LintProblem]:
        seen.append(module)
        return []

    report_lint({"tree": tree}, check)
    assert seen == [tree]


def test_report_lint_of_unparsable_code_is_run_lints_error_result() -> None:
    payload = {"source": "x = (\n", "path": "b.py"}
    assert report_lint(payload, out_of_order) == run_lint(payload)


@pytest.mark.parametrize(
    "report",
    [
        lambda payload: report_complexity(payload, statements, owner="acme"),
        lambda payload: report_lint(payload, out_of_order, owner="acme"),
    ],
    ids=["report_complexity", "report_lint"],
)
def test_payload_errors_name_the_owner(report: object) -> None:
    with pytest.raises(hybrid_core.PayloadError, match=r"^acme payload key 'source' must be"):
        report({"source": b"x"})  # type: ignore[operator]
    with pytest.raises(hybrid_core.PayloadError, match=r"^acme payload must be a mapping"):
        report("x = 1")  # type: ignore[operator]
