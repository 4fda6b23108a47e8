"""The ``python.complexity`` analysis: McCabe cyclomatic complexity per function.

A function scores 1 plus one per decision point in its body: ``if``/``elif``, ``for`` and
``while`` (one more when they have an ``else``), each ``except`` handler, each extra
operand of ``and``/``or``, each ``for`` and ``if`` clause of a comprehension, each
conditional expression, each ``assert``, and each ``case`` of a ``match`` except a last
irrefutable one (``case _:``). ``with``, ``try``'s ``else`` and ``finally`` add nothing.
Lambdas count towards the function they are in; nested defs are scored on their own,
but their decorators and default values, evaluated in the enclosing function, count
there. Code outside any function is not scored.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from ._results import ComplexityTotals, FunctionComplexity, Rank
from ._scopes import FUNCTION_TYPES, FunctionNode, iter_definitions

__all__ = ["collect_complexity", "function_complexity", "rank", "totals"]

_RANKS: tuple[tuple[int, Rank], ...] = ((5, "A"), (10, "B"), (20, "C"), (30, "D"), (40, "E"))


def collect_complexity(
    tree: ast.Module, score_function: Callable[[FunctionNode], int] | None = None
) -> list[FunctionComplexity]:
    """The complexity of every function and method in ``tree``, in source order.

    ``score_function`` scores one def (its nested defs excluded); by default
    :func:`function_complexity`, the rules in this module's docstring.
    """
    scorer = function_complexity if score_function is None else score_function
    scores: list[FunctionComplexity] = []
    for definition in iter_definitions(tree):
        node = definition.node
        if not isinstance(node, ast.ClassDef):
            scores.append(_record(definition.qualname, node, scorer(node)))
    return scores


def _record(qualname: str, node: FunctionNode, score: object) -> FunctionComplexity:
    if isinstance(score, bool) or not isinstance(score, int) or score < 0:
        raise TypeError(f"complexity of {qualname!r} must be an int >= 0, not {score!r}")
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return {
        "qualname": qualname,
        "lineno": node.lineno,
        "end_lineno": end,
        "complexity": score,
        "rank": rank(score),
    }


def function_complexity(node: FunctionNode) -> int:
    """The cyclomatic complexity of one function, nested defs excluded."""
    score = 1
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        score += _decisions(current)
        stack.extend(_scored_children(current))
    return score


def rank(complexity: int) -> Rank:
    """The letter grade: A up to 5, B up to 10, C up to 20, D up to 30, E up to 40, else F."""
    for bound, letter in _RANKS:
        if complexity <= bound:
            return letter
    return "F"


def totals(scores: list[FunctionComplexity]) -> ComplexityTotals:
    """Count, sum, maximum and average (rounded to 2 places) of ``scores``."""
    values = [score["complexity"] for score in scores]
    if not values:
        return {"count": 0, "total": 0, "max": 0, "average": 0.0}
    total = sum(values)
    return {
        "count": len(values),
        "total": total,
        "max": max(values),
        "average": round(total / len(values), 2),
    }


def _scored_children(node: ast.AST) -> Iterable[ast.AST]:
    if isinstance(node, FUNCTION_TYPES):
        # A nested def's body is scored on its own; what the enclosing function runs
        # when it reaches the def is its decorators and default values.
        defaults = [d for d in node.args.kw_defaults if d is not None]
        return [*node.decorator_list, *node.args.defaults, *defaults]
    return ast.iter_child_nodes(node)


def _decisions(node: ast.AST) -> int:
    if isinstance(node, (ast.If, ast.IfExp, ast.Assert, ast.ExceptHandler)):
        return 1
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return 2 if node.orelse else 1
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, ast.comprehension):
        return 1 + len(node.ifs)
    if isinstance(node, ast.Match):
        last = node.cases[-1]
        wildcard = last.guard is None and _irrefutable(last.pattern)
        return len(node.cases) - int(wildcard)
    return 0


def _irrefutable(pattern: ast.pattern) -> bool:
    """True for a pattern that matches anything: ``_``, a bare name, or an or-pattern of one."""
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(_irrefutable(p) for p in pattern.patterns)
    return False
