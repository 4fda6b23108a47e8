"""``# noqa``, rule codes, severities and re-exports: pyflakes.lint and pyast.lint agree."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import hybrid_core_pyast
import pytest
from hybrid_core_pyast._codes import RULES
from pyflakes import messages

import hybrid_core_pyanalysis

ENGINES = pytest.mark.parametrize(
    "run_lint",
    [hybrid_core_pyanalysis.run_lint, hybrid_core_pyast.run_lint],
    ids=["pyflakes.lint", "pyast.lint"],
)
Lint = Callable[[object], Any]


def lint(run_lint: Lint, source: str, path: str = "m.py") -> tuple[list[tuple[int, str]], int]:
    """(line, code) of each problem, and the count ``# noqa`` suppressed."""
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n"), "path": path})
    assert result["ok"] is True
    return [(p["line"], p["code"]) for p in result["problems"]], result["suppressed"]


@ENGINES
@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("# noqa", True),
        ("# NOQA", True),
        ("# noqa: UnusedImport", True),
        ("# noqa: F401", True),
        ("# noqa:F401,F811", True),
        ("# noqa: F811", False),
        ("# noqa: RedefinedWhileUnused", False),
    ],
)
def test_noqa_variants(run_lint: Lint, comment: str, suppressed: bool) -> None:
    expected = ([], 1) if suppressed else ([(1, "UnusedImport")], 0)
    assert lint(run_lint, f"import os  {comment}\n") == expected


@ENGINES
def test_a_noqa_inside_a_string_is_not_a_comment(run_lint: Lint) -> None:
    assert lint(run_lint, "import os; x = '# noqa'\n") == ([(1, "UnusedImport")], 0)


@ENGINES
def test_a_code_list_applies_only_to_its_codes(run_lint: Lint) -> None:
    source = 'import os, sys; x = f"a"  # noqa: F401\n'
    assert lint(run_lint, source) == ([(1, "FStringMissingPlaceholders")], 2)


@ENGINES
def test_a_multi_line_import_takes_the_noqa_of_its_first_line(run_lint: Lint) -> None:
    assert lint(run_lint, "from m import (  # noqa: F401\n    a,\n    b,\n)\n") == ([], 2)


@ENGINES
def test_the_noqa_of_a_multi_line_string_is_after_its_end(run_lint: Lint) -> None:
    assert lint(run_lint, 'x = f"""\ntext\n"""  # noqa: F541\n') == ([], 1)


def test_pyflakes_only_problems_are_silenced_by_their_f_codes() -> None:
    star = """
        from os import *  # noqa: F403
        def f():
            unused = 1  # noqa: F841
            return path  # noqa: F405
        """
    undefined = "print(undefined)  # noqa: F821\n"
    run_lint = hybrid_core_pyanalysis.run_lint
    assert lint(run_lint, star) == ([], 3)
    assert lint(run_lint, undefined) == ([], 1)
    assert lint(run_lint, star.replace("# noqa", "#")) == (
        [(1, "ImportStarUsed"), (3, "UnusedVariable"), (4, "ImportStarUsage")],
        0,
    )
    assert lint(run_lint, undefined.replace("# noqa", "#")) == ([(1, "UndefinedName")], 0)


# Re-exports and __all__


@ENGINES
def test_redundant_aliases_are_re_exports(run_lint: Lint) -> None:
    source = """
        from .core import X as X
        from .core import Y as Z
        from . import sub as sub
        import c as c
        import a.b as b
        """
    assert lint(run_lint, source) == ([(2, "UnusedImport"), (5, "UnusedImport")], 0)


@ENGINES
@pytest.mark.parametrize(
    "listing",
    [
        '__all__ = ["a", "b"]',
        '__all__ = ("a", "b")',
        '__all__: list[str] = ["a", "b"]',
        '__all__ = ["a"] + ["b"]',
        '__all__ = ["a"]\n__all__ += ["b"]',
        '__all__ = ["a"]\n__all__.extend(["b"])',
        '__all__ = ["a"]\n__all__.append("b")',
    ],
)
def test_names_listed_in_all_are_not_unused(run_lint: Lint, listing: str) -> None:
    source = f"from m import a\nfrom m import b\nimport c\n{listing}\n"
    assert lint(run_lint, source) == ([(3, "UnusedImport")], 0)


@ENGINES
def test_both_engines_name_an_unused_alias_the_same(run_lint: Lint) -> None:
    result = run_lint({"source": "import a.b as b\nfrom . import m as n\n"})
    assert [p["message"] for p in result["problems"]] == [
        "'a.b' imported but unused",
        "'.m as n' imported but unused",
    ]


# Severities and rule codes


@ENGINES
def test_errors_come_before_warnings(run_lint: Lint) -> None:
    source = """
        import os
        x = 1
        if x is 1:
            pass
        """
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n")})
    assert [(p["severity"], p["line"], p["code"], p["rule"]) for p in result["problems"]] == [
        ("error", 3, "IsLiteral", "F632"),
        ("warning", 1, "UnusedImport", "F401"),
    ]


def test_pyflakes_errors_and_warnings() -> None:
    source = """
        import os
        def f(a):
            b = 1
            return undefined
        __all__ = ["missing"]
        """
    result = hybrid_core_pyanalysis.run_lint({"source": textwrap.dedent(source).lstrip("\n")})
    assert [(p["severity"], p["code"], p["rule"]) for p in result["problems"]] == [
        ("error", "UndefinedName", "F821"),
        ("error", "UndefinedExport", "F822"),
        ("warning", "UnusedImport", "F401"),
        ("warning", "UnusedVariable", "F841"),
    ]


def test_every_pyflakes_message_has_a_rule_code() -> None:
    # A pyflakes release that adds a message fails here until the table names its code.
    classes = {
        name
        for name, value in vars(messages).items()
        if inspect.isclass(value)
        and issubclass(value, messages.Message)
        and value is not messages.Message
    }
    assert classes <= set(RULES)
    assert set(RULES) - classes == {"BareExcept", "MutableDefaultArgument"}
