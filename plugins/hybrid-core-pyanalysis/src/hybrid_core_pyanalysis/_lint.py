"""The ``python.lint`` engine on pyflakes: every message pyflakes reports, as problems.

pyflakes checks the tree hybrid-core-pyast parsed (or the one the payload carries), so a
file is parsed once; code that does not parse gets hybrid-core-pyast's error record.
A problem's ``code`` is the name of pyflakes' message class (``UnusedImport``,
``UndefinedName``), stable across pyflakes releases; its column is 1-based.
Unused-import messages about the imports ``pyast.lint`` never reports (``X as X``
re-exports and names listed in ``__all__``, also through ``.extend`` and ``.append``,
which pyflakes does not follow) are dropped, so the two engines agree on them.
"""

from __future__ import annotations

import ast
from typing import Any

from hybrid_core_pyast import LintFinding, LintResult, exempt_imports, report_lint
from pyflakes.checker import Checker
from pyflakes.messages import UnusedImport

from ._version import PLUGIN

__all__ = ["pyflakes_problems", "run_lint"]


def run_lint(payload: object) -> LintResult:
    """Serve ``python.lint``: pyflakes' messages, errors first, then by line and column."""
    return report_lint(payload, pyflakes_problems, owner=PLUGIN)


def pyflakes_problems(tree: ast.Module, path: str) -> list[LintFinding]:
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
    messages = checker.messages
    if any(isinstance(message, UnusedImport) for message in messages):
        exempt = exempt_imports(tree)
        messages = [message for message in messages if not _is_exempt(message, exempt)]
    return [_problem(message) for message in messages]


def _is_exempt(message: Any, exempt: set[tuple[int, int, str]]) -> bool:
    if not isinstance(message, UnusedImport):
        return False
    return (int(message.lineno), int(message.col) + 1, str(message.message_args[0])) in exempt


def _problem(message: Any) -> LintFinding:
    return {
        "line": int(message.lineno),
        "column": int(message.col) + 1,
        "code": type(message).__name__,
        "message": str(message.message % message.message_args),
    }
