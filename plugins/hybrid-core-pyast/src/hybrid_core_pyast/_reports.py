"""Result builders shared with other engines that serve the same capabilities.

An engine built on another library (radon, pyflakes) passes its own scoring or checking
function and gets this distribution's payload contract, qualified names, error records
and result shapes, so its results compare one to one with the stdlib engines' results.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from ._complexity import collect_complexity, totals
from ._results import ComplexityResult, LintProblem, LintResult
from ._source import Unparsable, load

__all__ = ["report_complexity", "report_lint"]

FunctionScore = Callable[[ast.FunctionDef | ast.AsyncFunctionDef], int]
TreeCheck = Callable[[ast.Module, str], Iterable[LintProblem]]


def report_complexity(
    payload: object, score: FunctionScore, *, owner: str = "pyast"
) -> ComplexityResult:
    """The ``python.complexity`` result for ``payload``, each def scored by ``score``.

    ``score(node)`` gets one def or async def (methods and nested defs included, each on
    its own) and returns its complexity, an int >= 0. Qualified names, lines, ranks and
    totals are this distribution's. A malformed payload raises
    ``hybrid_core.PayloadError`` whose message starts with ``"<owner> payload"``.
    """
    source = load(payload, owner)
    if isinstance(source, Unparsable):
        return {
            "path": source.path,
            "ok": False,
            "error": source.error,
            "functions": [],
            "totals": totals([]),
        }
    scores = collect_complexity(source.tree, score)
    return {"path": source.path, "ok": True, "functions": scores, "totals": totals(scores)}


def report_lint(payload: object, check: TreeCheck, *, owner: str = "pyast") -> LintResult:
    """The ``python.lint`` result for ``payload``, its problems found by ``check``.

    ``check(tree, path)`` returns the problems of a parsed module; they are sorted by
    line, column, code and message. A malformed payload raises
    ``hybrid_core.PayloadError`` whose message starts with ``"<owner> payload"``.
    """
    source = load(payload, owner)
    if isinstance(source, Unparsable):
        return {"path": source.path, "ok": False, "error": source.error, "problems": []}
    problems = sorted(check(source.tree, source.path), key=_position)
    return {"path": source.path, "ok": True, "problems": problems}


def _position(problem: LintProblem) -> tuple[int, int, str, str]:
    return (problem["line"], problem["column"], problem["code"], problem["message"])
