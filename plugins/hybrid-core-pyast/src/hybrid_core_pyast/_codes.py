"""What each lint code means to a user: the rule code they write and how serious it is.

A problem's ``code`` is the name of pyflakes' message class (``UnusedImport``); users
write flake8's and ruff's codes for the same checks (``F401``) in ``# noqa`` comments
and configuration, so every problem also carries that ``rule``. The table is flake8's
assignment for pyflakes' messages, which ruff keeps; the stdlib engine's two checks
pyflakes lacks take the codes of the tools that have them (pycodestyle's ``E722``,
flake8-bugbear's ``B006``).
"""

from __future__ import annotations

from ._results import Severity

__all__ = ["RULES", "SEVERITY_RANK", "rule_of", "severity_of"]

RULES: dict[str, str] = {
    "UnusedImport": "F401",
    "ImportShadowedByLoopVar": "F402",
    "ImportStarUsed": "F403",
    "LateFutureImport": "F404",
    "ImportStarUsage": "F405",
    "ImportStarNotPermitted": "F406",
    "FutureFeatureNotDefined": "F407",
    "PercentFormatInvalidFormat": "F501",
    "PercentFormatExpectedMapping": "F502",
    "PercentFormatExpectedSequence": "F503",
    "PercentFormatExtraNamedArguments": "F504",
    "PercentFormatMissingArgument": "F505",
    "PercentFormatMixedPositionalAndNamed": "F506",
    "PercentFormatPositionalCountMismatch": "F507",
    "PercentFormatStarRequiresSequence": "F508",
    "PercentFormatUnsupportedFormatCharacter": "F509",
    "StringDotFormatInvalidFormat": "F521",
    "StringDotFormatExtraNamedArguments": "F522",
    "StringDotFormatExtraPositionalArguments": "F523",
    "StringDotFormatMissingArgument": "F524",
    "StringDotFormatMixingAutomatic": "F525",
    "FStringMissingPlaceholders": "F541",
    "TStringMissingPlaceholders": "F542",
    "MultiValueRepeatedKeyLiteral": "F601",
    "MultiValueRepeatedKeyVariable": "F602",
    "TooManyExpressionsInStarredAssignment": "F621",
    "TwoStarredExpressions": "F622",
    "AssertTuple": "F631",
    "IsLiteral": "F632",
    "InvalidPrintSyntax": "F633",
    "IfTuple": "F634",
    "BreakOutsideLoop": "F701",
    "ContinueOutsideLoop": "F702",
    "YieldOutsideFunction": "F704",
    "ReturnOutsideFunction": "F706",
    "DefaultExceptNotLast": "F707",
    "LazyImportNotAtModuleScope": "F708",
    "LazyImportStarNotPermitted": "F709",
    "DoctestSyntaxError": "F721",
    "ForwardAnnotationSyntaxError": "F722",
    "RedefinedWhileUnused": "F811",
    "UndefinedName": "F821",
    "UndefinedExport": "F822",
    "UndefinedLocal": "F823",
    "UnusedIndirectAssignment": "F824",
    "DuplicateArgument": "F831",
    "UnusedVariable": "F841",
    "UnusedAnnotation": "F842",
    "EagerUseOfLazyImport": "F851",
    "RaiseNotImplemented": "F901",
    "BareExcept": "E722",
    "MutableDefaultArgument": "B006",
}

# "error": the code fails, or does something other than it says, when it runs (or does
# not compile). Everything else, code that runs as written but is dead, redundant or
# hides a name, is a "warning"; so is a code missing from this set.
_ERRORS = frozenset(
    {
        "UndefinedName",
        "UndefinedLocal",
        "UndefinedExport",
        "DuplicateArgument",
        "ReturnOutsideFunction",
        "YieldOutsideFunction",
        "BreakOutsideLoop",
        "ContinueOutsideLoop",
        "DefaultExceptNotLast",
        "TwoStarredExpressions",
        "TooManyExpressionsInStarredAssignment",
        "LateFutureImport",
        "FutureFeatureNotDefined",
        "ImportStarNotPermitted",
        "LazyImportNotAtModuleScope",
        "LazyImportStarNotPermitted",
        "ForwardAnnotationSyntaxError",
        "DoctestSyntaxError",
        "InvalidPrintSyntax",
        "RaiseNotImplemented",
        "IfTuple",
        "AssertTuple",
        "IsLiteral",
        "MultiValueRepeatedKeyLiteral",
        "MultiValueRepeatedKeyVariable",
        "PercentFormatInvalidFormat",
        "PercentFormatExpectedMapping",
        "PercentFormatExpectedSequence",
        "PercentFormatMissingArgument",
        "PercentFormatMixedPositionalAndNamed",
        "PercentFormatPositionalCountMismatch",
        "PercentFormatStarRequiresSequence",
        "PercentFormatUnsupportedFormatCharacter",
        "StringDotFormatInvalidFormat",
        "StringDotFormatMissingArgument",
        "StringDotFormatMixingAutomatic",
    }
)

SEVERITY_RANK: dict[Severity, int] = {"error": 0, "warning": 1}


def rule_of(code: str) -> str | None:
    """The flake8/ruff rule code of ``code`` (``"F401"``), or None when it has none."""
    return RULES.get(code)


def severity_of(code: str) -> Severity:
    """``"error"`` for a likely bug, ``"warning"`` for anything else."""
    return "error" if code in _ERRORS else "warning"
