"""The shapes of the engines' results: plain, JSON-serialisable dicts and lists.

Every result carries ``path`` and ``ok``; when ``ok`` is false it also carries ``error``
and its data fields are empty (or null), so a caller can record the error as a finding.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "ComplexityResult",
    "ComplexityTotals",
    "ErrorKind",
    "ErrorRecord",
    "FunctionComplexity",
    "ImportRecord",
    "ImportsResult",
    "LintFinding",
    "LintProblem",
    "LintResult",
    "ParseResult",
    "Rank",
    "Severity",
    "Symbol",
    "SymbolKind",
    "SymbolsResult",
]

ErrorKind = Literal["syntax", "encoding"]
SymbolKind = Literal["function", "async function", "method", "async method", "class"]
Rank = Literal["A", "B", "C", "D", "E", "F"]
Severity = Literal["error", "warning"]


class ErrorRecord(TypedDict):
    """Why source could not be analysed; ``line`` and ``column`` are 1-based or None."""

    kind: ErrorKind
    message: str
    line: int | None
    column: int | None


class _Outcome(TypedDict):
    path: str
    ok: bool


class _Failure(TypedDict, total=False):
    error: ErrorRecord


class ParseResult(_Outcome, _Failure):
    """What ``python.parse`` returns; the counts are None when ``ok`` is false."""

    lines: int
    functions: int | None
    classes: int | None
    statements: int | None


class Symbol(TypedDict):
    """One function, method or class, as ``python.symbols`` reports it."""

    qualname: str
    name: str
    kind: SymbolKind
    lineno: int
    end_lineno: int
    arguments: list[str]
    decorators: list[str]
    has_docstring: bool
    is_public: bool


class SymbolsResult(_Outcome, _Failure):
    """What ``python.symbols`` returns: every definition in source order."""

    symbols: list[Symbol]


class ImportRecord(TypedDict):
    """One imported module, as ``python.imports`` reports it.

    ``lines`` is parallel to ``names``: the line of each name of a ``from`` import.
    ``import_time`` is true when the statement runs as the module is imported: not under
    ``TYPE_CHECKING`` nor ``__name__ == "__main__"``, not in a function.
    """

    module: str
    names: list[str]
    lines: list[int]
    line: int
    level: int
    type_checking: bool
    deferred: bool
    main_guard: bool
    in_class: bool
    import_time: bool


class ImportsResult(_Outcome, _Failure):
    """What ``python.imports`` returns: every import in source order."""

    module: str | None
    imports: list[ImportRecord]


class FunctionComplexity(TypedDict):
    """The cyclomatic complexity of one function or method."""

    qualname: str
    lineno: int
    end_lineno: int
    complexity: int
    rank: Rank


class ComplexityTotals(TypedDict):
    """File totals over every scored function; all zero when there is none."""

    count: int
    total: int
    max: int
    average: float


class ComplexityResult(_Outcome, _Failure):
    """What ``python.complexity`` returns."""

    functions: list[FunctionComplexity]
    totals: ComplexityTotals


class LintFinding(TypedDict):
    """What a lint check reports: where it is, a short stable code, and what is wrong.

    ``line`` and ``column`` are 1-based; the column counts UTF-8 bytes, as the syntax tree
    records it. ``code`` names the check, e.g. ``UnusedImport``.
    """

    line: int
    column: int
    code: str
    message: str


class LintProblem(LintFinding):
    """One problem of ``python.lint``: a finding with its rule code and severity.

    ``rule`` is the flake8/ruff code users write in ``# noqa`` (``F401``), or None for
    a code that has none; ``severity`` is ``"error"`` for a likely bug and ``"warning"``
    otherwise.
    """

    rule: str | None
    severity: Severity


class LintResult(_Outcome, _Failure):
    """What ``python.lint`` returns: every problem, errors first, then by line and column.

    ``suppressed`` counts the problems a ``# noqa`` comment silenced (0 when ``ok`` is
    false).
    """

    problems: list[LintProblem]
    suppressed: int
