"""The ``python.lint`` engine on pyflakes: every message pyflakes reports, as problems.

pyflakes checks the tree hybrid-core-pyast parsed (or the one the payload carries), so a
file is parsed once; code that does not parse gets hybrid-core-pyast's error record.
A problem's ``code`` is the name of pyflakes' message class (``UnusedImport``,
``UndefinedName``), stable across pyflakes releases; its column is 1-based.
"""

from __future__ import annotations

import ast
from typing import Any

from hybrid_core_pyast import LintProblem, LintResult, report_lint
from pyflakes.checker import Checker

from ._version import PLUGIN

__all__ = ["pyflakes_problems", "run_lint"]


def run_lint(payload: object) -> LintResult:
    """Serve ``python.lint``: pyflakes' messages, sorted by line and column."""
    return report_lint(payload, pyflakes_problems, owner=PLUGIN)


def pyflakes_problems(tree: ast.Module, path: str) -> list[LintProblem]:
    """What pyflakes finds in ``tree``; ``path`` is the file name pyflakes is told.

    Doctests are not checked. Raises ``RecursionError`` with a plain message when the
    code nests deeper than pyflakes' recursive walk can follow.
    """
    try:
        checker = Checker(tree, filename=path, withDoctest=False)
    except RecursionError:
        raise RecursionError(
            f"{path}: the code nests too deeply for pyflakes' recursive walk; "
            "the stdlib engine pyast.lint can check it"
        ) from None
    return [_problem(message) for message in checker.messages]


def _problem(message: Any) -> LintProblem:
    return {
        "line": int(message.lineno),
        "column": int(message.col) + 1,
        "code": type(message).__name__,
        "message": str(message.message % message.message_args),
    }
