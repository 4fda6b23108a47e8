"""hybrid_core_pyast: engines over Python source, built on the standard library's ``ast``.

The entry point ``pyast`` of the group ``hybrid_core`` names this module; its hook
:func:`hybrid_engines` gives five engines, each serving one capability at priority 10:
``python.parse``, ``python.symbols``, ``python.imports``, ``python.complexity`` and
``python.lint``. Importing the module does no work beyond defining them.
:func:`report_complexity` and :func:`report_lint` let engines built on other libraries
keep the same payloads and result shapes; :func:`exempt_imports` tells them which unused
imports this distribution never reports (re-exports and names in ``__all__``).
"""

from __future__ import annotations

from collections.abc import Callable

import hybrid_core

from ._engines import run_complexity, run_imports, run_lint, run_parse, run_symbols
from ._lint import exempt_imports
from ._reports import report_complexity, report_lint
from ._results import (
    ComplexityResult,
    ComplexityTotals,
    ErrorRecord,
    FunctionComplexity,
    ImportRecord,
    ImportsResult,
    LintFinding,
    LintProblem,
    LintResult,
    ParseResult,
    Severity,
    Symbol,
    SymbolsResult,
)
from ._source import parse
from ._version import __version__

__all__ = [
    "ComplexityResult",
    "ComplexityTotals",
    "ErrorRecord",
    "FunctionComplexity",
    "ImportRecord",
    "ImportsResult",
    "LintFinding",
    "LintProblem",
    "LintResult",
    "ParseResult",
    "Severity",
    "Symbol",
    "SymbolsResult",
    "__version__",
    "exempt_imports",
    "hybrid_engines",
    "parse",
    "report_complexity",
    "report_lint",
    "run_complexity",
    "run_imports",
    "run_lint",
    "run_parse",
    "run_symbols",
]

# The stdlib fallback: a more capable engine for the same capability should outrank it.
_PRIORITY = 10


def _engine(
    name: str, capability: str, handler: Callable[[object], object], description: str
) -> hybrid_core.Engine:
    # CPU-bound pure Python: worker processes, not threads (the GIL would serialise it).
    # Calls about one file go to one worker, whose parse cache then parses it only once.
    return hybrid_core.Engine(
        name=name,
        capabilities={capability: _PRIORITY},
        handler=handler,
        version=__version__,
        description=description,
        process=True,
        affinity_key="path",
    )


@hybrid_core.hookimpl
def hybrid_engines() -> list[hybrid_core.Engine]:
    """The five stdlib-``ast`` engines: parse, symbols, imports, complexity and lint."""
    return [
        _engine(
            "pyast.parse",
            "python.parse",
            run_parse,
            "Parse Python source; report line, function, class and statement counts.",
        ),
        _engine(
            "pyast.symbols",
            "python.symbols",
            run_symbols,
            "List functions, methods and classes with qualified names and signatures.",
        ),
        _engine(
            "pyast.imports",
            "python.imports",
            run_imports,
            "List imports and their lines, resolving relative ones, flagging import-time ones.",
        ),
        _engine(
            "pyast.complexity",
            "python.complexity",
            run_complexity,
            "McCabe cyclomatic complexity per function, with ranks and file totals.",
        ),
        _engine(
            "pyast.lint",
            "python.lint",
            run_lint,
            "Unused imports, redefinitions, bare except, mutable defaults, 'is' with "
            "literals, f-strings without placeholders.",
        ),
    ]
