"""hybrid_core_pyast: engines over Python source, built on the standard library's ``ast``.

The entry point ``pyast`` of the group ``hybrid_core`` names this module; its hook
:func:`hybrid_engines` gives four engines, each serving one capability at priority 10:
``python.parse``, ``python.symbols``, ``python.imports`` and ``python.complexity``.
Importing the module does no work beyond defining them.
"""

from __future__ import annotations

from collections.abc import Callable

import hybrid_core

from ._engines import run_complexity, run_imports, run_parse, run_symbols
from ._results import (
    ComplexityResult,
    ComplexityTotals,
    ErrorRecord,
    FunctionComplexity,
    ImportRecord,
    ImportsResult,
    ParseResult,
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
    "ParseResult",
    "Symbol",
    "SymbolsResult",
    "__version__",
    "hybrid_engines",
    "parse",
    "run_complexity",
    "run_imports",
    "run_parse",
    "run_symbols",
]

# The stdlib fallback: a more capable engine for the same capability should outrank it.
_PRIORITY = 10


def _engine(
    name: str, capability: str, handler: Callable[[object], object], description: str
) -> hybrid_core.Engine:
    # CPU-bound sync work: blocking=True asks the system to run it off the event loop.
    return hybrid_core.Engine(
        name=name,
        capabilities={capability: _PRIORITY},
        handler=handler,
        version=__version__,
        description=description,
        blocking=True,
    )


@hybrid_core.hookimpl
def hybrid_engines() -> list[hybrid_core.Engine]:
    """The four stdlib-``ast`` engines: parse, symbols, imports and complexity."""
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
            "List imports, resolving relative ones, flagging TYPE_CHECKING and deferred.",
        ),
        _engine(
            "pyast.complexity",
            "python.complexity",
            run_complexity,
            "McCabe cyclomatic complexity per function, with ranks and file totals.",
        ),
    ]
