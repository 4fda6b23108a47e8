"""The engines' handlers: payload in, JSON-serialisable result out.

Handlers are module-level functions of the payload alone, so they pickle by name and can
run in a thread or a process pool.
"""

from __future__ import annotations

import ast

from ._complexity import function_complexity
from ._imports import collect_imports, package_of
from ._lint import collect_problems
from ._reports import report_complexity, report_lint
from ._results import (
    ComplexityResult,
    ImportsResult,
    LintFinding,
    LintResult,
    ParseResult,
    SymbolsResult,
)
from ._source import Unparsable, load
from ._symbols import collect_symbols

__all__ = ["run_complexity", "run_imports", "run_lint", "run_parse", "run_symbols"]


def run_parse(payload: object) -> ParseResult:
    """Serve ``python.parse``: whether the code parses, its line count and its counts."""
    source = load(payload)
    if isinstance(source, Unparsable):
        return {
            "path": source.path,
            "ok": False,
            "error": source.error,
            "lines": source.lines,
            "functions": None,
            "classes": None,
            "statements": None,
        }
    functions = classes = statements = 0
    for node in ast.walk(source.tree):
        functions += isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        classes += isinstance(node, ast.ClassDef)
        statements += isinstance(node, ast.stmt)
    return {
        "path": source.path,
        "ok": True,
        "lines": source.lines,
        "functions": functions,
        "classes": classes,
        "statements": statements,
    }


def run_symbols(payload: object) -> SymbolsResult:
    """Serve ``python.symbols``: every function, method and class, in source order."""
    source = load(payload)
    if isinstance(source, Unparsable):
        return {"path": source.path, "ok": False, "error": source.error, "symbols": []}
    return {"path": source.path, "ok": True, "symbols": collect_symbols(source.tree)}


def run_imports(payload: object) -> ImportsResult:
    """Serve ``python.imports``: every import, resolved against ``module`` when given."""
    source = load(payload)
    if isinstance(source, Unparsable):
        return {
            "path": source.path,
            "ok": False,
            "error": source.error,
            "module": source.module,
            "imports": [],
        }
    package = None if source.module is None else package_of(source.module, source.path)
    return {
        "path": source.path,
        "ok": True,
        "module": source.module,
        "imports": collect_imports(source.tree, package),
    }


def run_complexity(payload: object) -> ComplexityResult:
    """Serve ``python.complexity``: McCabe complexity per function, and file totals."""
    return report_complexity(payload, function_complexity)


def run_lint(payload: object) -> LintResult:
    """Serve ``python.lint``: the stdlib checks' problems, sorted by line and column."""
    return report_lint(payload, _lint_tree)


def _lint_tree(tree: ast.Module, path: str) -> list[LintFinding]:
    return collect_problems(tree)
