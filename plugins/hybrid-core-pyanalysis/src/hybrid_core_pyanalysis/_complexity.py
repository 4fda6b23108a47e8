"""The ``python.complexity`` engine on radon: cyclomatic complexity by radon's own rules.

Each def is handed to radon's ``cc_visit_ast`` on its own, which gives exactly the score
radon's ``cc_visit`` gives that function (radon scores a def from its body alone), and
also scores the methods of a class defined inside a function, which ``cc_visit`` leaves
out. hybrid-core-pyast's report builder supplies the rest: payload checking, qualified
names in Python's ``__qualname__`` form, the def's lines from the syntax tree, ranks and
totals, so results compare one to one with ``pyast.complexity``'s.
"""

from __future__ import annotations

import ast

from hybrid_core_pyast import ComplexityResult, report_complexity
from radon.complexity import cc_visit_ast

from ._version import PLUGIN

__all__ = ["radon_complexity", "run_complexity"]


def run_complexity(payload: object) -> ComplexityResult:
    """Serve ``python.complexity``: radon's cyclomatic complexity per function, file totals."""
    return report_complexity(payload, radon_complexity, owner=PLUGIN)


def radon_complexity(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """radon's cyclomatic complexity of one def; its nested defs are scored apart.

    Raises ``RecursionError`` with a plain message when the def nests deeper than radon's
    recursive walk can follow; ``pyast.complexity`` walks iteratively and can.
    """
    try:
        (block,) = cc_visit_ast(node)
    except RecursionError:
        raise RecursionError(
            f"function {node.name!r} at line {node.lineno} nests too deeply for radon's "
            "recursive walk; the stdlib engine pyast.complexity can score it"
        ) from None
    return int(block.complexity)
