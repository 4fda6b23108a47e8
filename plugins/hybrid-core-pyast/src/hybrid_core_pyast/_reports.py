"""Result builders shared with other engines that serve the same capabilities.

An engine built on another library (radon, pyflakes) passes its own scoring or checking
function and gets this distribution's payload contract, qualified names, error records
and result shapes, so its results compare one to one with the stdlib engines' results.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from ._codes import SEVERITY_RANK, rule_of, severity_of
from ._complexity import collect_complexity, totals
from ._noqa import may_have_noqa, read_directives, silences
from ._results import ComplexityResult, LintFinding, LintProblem, LintResult
from ._source import Unparsable, load

__all__ = ["report_complexity", "report_lint"]

FunctionScore = Callable[[ast.FunctionDef | ast.AsyncFunctionDef], int]
TreeCheck = Callable[[ast.Module, str], Iterable[LintFinding]]


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

    ``check(tree, path)`` returns the findings of a parsed module. Each becomes a problem
    with its ``rule`` code and ``severity``; those a ``# noqa`` comment in the source
    silences are dropped and counted in ``suppressed`` (a ``tree`` given without
    ``source`` has no comments to read). Problems are sorted errors first, then by line,
    column, code and message. A malformed payload raises ``hybrid_core.PayloadError``
    whose message starts with ``"<owner> payload"``.
    """
    source = load(payload, owner)
    if isinstance(source, Unparsable):
        return {
            "path": source.path,
            "ok": False,
            "error": source.error,
            "problems": [],
            "suppressed": 0,
        }
    problems = [_classified(finding) for finding in check(source.tree, source.path)]
    kept = problems
    if problems and source.text is not None and may_have_noqa(source.text):
        directives = read_directives(source.text)
        kept = [p for p in problems if not silences(directives, p["line"], p["code"], p["rule"])]
    kept.sort(key=_order)
    return {
        "path": source.path,
        "ok": True,
        "problems": kept,
        "suppressed": len(problems) - len(kept),
    }


def _classified(finding: LintFinding) -> LintProblem:
    code = finding["code"]
    return {
        "line": finding["line"],
        "column": finding["column"],
        "code": code,
        "message": finding["message"],
        "rule": rule_of(code),
        "severity": severity_of(code),
    }


def _order(problem: LintProblem) -> tuple[int, int, int, str, str]:
    return (
        SEVERITY_RANK[problem["severity"]],
        problem["line"],
        problem["column"],
        problem["code"],
        problem["message"],
    )
