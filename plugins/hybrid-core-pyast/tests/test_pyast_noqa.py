"""``# noqa``, rule codes, severities and re-exports, through pyast.lint and report_lint."""

from __future__ import annotations

import ast
import textwrap

import pytest

from hybrid_core_pyast import LintFinding, _reports, report_lint, run_lint
from hybrid_core_pyast._codes import RULES, severity_of
from hybrid_core_pyast._noqa import ALL, read_directives, silences


def lint(source: str) -> tuple[list[tuple[int, str]], int]:
    """(line, code) of each problem, and the count ``# noqa`` suppressed."""
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n"), "path": "m.py"})
    assert result["ok"] is True
    return [(p["line"], p["code"]) for p in result["problems"]], result["suppressed"]


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa",
        "# NOQA",
        "#noqa",
        "# NoQa: F401",
        "# noqa: UnusedImport",
        "# noqa: unusedimport",
        "# noqa:f401",
        "# noqa: F811, F401",
        "# noqa:F401,F811",
        "# noqa: F811 F401",
        "# noqa:",  # a colon without codes is a bare noqa, as flake8 reads it
        "# noqa : F811",  # no colon right after noqa: bare, as flake8 reads it
        "# noqa F811",
        "# type: ignore # noqa: F401",
    ],
)
def test_a_noqa_that_covers_the_problem_suppresses_it(comment: str) -> None:
    assert lint(f"import os  {comment}\n") == ([], 1)


@pytest.mark.parametrize(
    "source",
    [
        "import os  # noqa: F811\n",
        "import os  # noqa: RedefinedWhileUnused\n",
        "import os  # noqa-like comment\n",
        "import os  # no qa\n",
        "import os; x = '# noqa'\n",
        "x = '''\n# noqa\n'''\nimport os\n",
    ],
)
def test_a_noqa_that_does_not_cover_the_problem_leaves_it(source: str) -> None:
    assert lint(source) == ([(source.count("\n"), "UnusedImport")], 0)


def test_a_code_list_silences_only_its_codes_on_its_line_only() -> None:
    source = """
        import os; x = f"a"  # noqa: F401
        import sys
        """
    assert lint(source) == ([(1, "FStringMissingPlaceholders"), (2, "UnusedImport")], 1)


def test_a_multi_line_import_is_silenced_on_the_line_it_is_reported_at() -> None:
    first = "from m import (  # noqa: F401\n    a,\n    b,\n)\n"
    assert lint(first) == ([], 2)
    later = "from m import (\n    a,  # noqa: F401\n    b,\n)\n"
    assert lint(later) == ([(1, "UnusedImport"), (1, "UnusedImport")], 0)


def test_a_problem_in_a_multi_line_string_is_silenced_where_the_string_ends() -> None:
    source = 'x = f"""\ntext\n"""  # noqa: F541\n'
    assert lint(source) == ([], 1)
    assert lint(source.replace("  # noqa: F541", "")) == ([(1, "FStringMissingPlaceholders")], 0)


def test_noqa_needs_the_source_a_tree_alone_has_no_comments() -> None:
    source = "import os  # noqa\n"
    tree = ast.parse(source)
    with_source = run_lint({"tree": tree, "source": source})
    assert (with_source["problems"], with_source["suppressed"]) == ([], 1)
    alone = run_lint({"tree": tree})
    assert ([p["code"] for p in alone["problems"]], alone["suppressed"]) == (["UnusedImport"], 0)


def test_files_without_noqa_are_not_tokenized(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> dict[int, frozenset[str]]:
        raise AssertionError("tokenized a file that needs no noqa lookup")

    monkeypatch.setattr(_reports, "read_directives", refuse)
    assert lint("import os\n") == ([(1, "UnusedImport")], 0)
    assert lint("import os\nprint(os, '# noqa')\n") == ([], 0)  # no problem to silence


def test_read_directives_reads_comment_tokens_only() -> None:
    text = 's = "# noqa"  # noqa: F401, e722\n# NOQA\nt = """\n# noqa\n"""  # noqa: B006\n'
    assert read_directives(text) == {
        1: frozenset({"f401", "e722"}),
        2: ALL,
        3: frozenset({"b006"}),  # inside the string: the directive where it ends
        4: frozenset({"b006"}),
        5: frozenset({"b006"}),
    }
    directives = read_directives(text)
    assert silences(directives, 1, "BareExcept", "E722")
    assert not silences(directives, 1, "IsLiteral", "F632")
    assert silences(directives, 2, "Anything", None)
    assert not silences(directives, 6, "UnusedImport", "F401")


def test_source_that_stops_tokenizing_keeps_the_directives_before() -> None:
    assert read_directives("import os  # noqa\nx = (\n") == {1: ALL}


# Rule codes and severities


def test_every_problem_carries_its_rule_code_and_severity() -> None:
    source = """
        import os
        def f(a=[]):
            try:
                return f"x" if a is 1 else 0
            except:
                pass
        """
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n")})
    assert [(p["code"], p["rule"], p["severity"]) for p in result["problems"]] == [
        ("IsLiteral", "F632", "error"),
        ("UnusedImport", "F401", "warning"),
        ("MutableDefaultArgument", "B006", "warning"),
        ("FStringMissingPlaceholders", "F541", "warning"),
        ("BareExcept", "E722", "warning"),
    ]


def test_rule_codes_are_unique_and_flake8_shaped() -> None:
    assert len(set(RULES.values())) == len(RULES)
    assert all(rule[0] in "FEB" and rule[1:].isdigit() for rule in RULES.values())
    assert RULES["UndefinedName"] == "F821"
    assert RULES["ImportStarUsage"] == "F405"


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("UndefinedName", "error"),
        ("UndefinedLocal", "error"),
        ("UndefinedExport", "error"),
        ("ReturnOutsideFunction", "error"),
        ("UnusedImport", "warning"),
        ("UnusedVariable", "warning"),
        ("RedefinedWhileUnused", "warning"),
        ("ImportStarUsed", "warning"),
        ("NotACheckAnyoneHas", "warning"),
    ],
)
def test_likely_bugs_are_errors_and_the_rest_warnings(code: str, severity: str) -> None:
    assert severity_of(code) == severity


def test_report_lint_puts_errors_first_then_orders_by_place_and_code() -> None:
    def check(tree: ast.Module, path: str) -> list[LintFinding]:
        return [
            {"line": 1, "column": 1, "code": "UnusedImport", "message": "u"},
            {"line": 3, "column": 1, "code": "UndefinedName", "message": "n"},
            {"line": 2, "column": 4, "code": "UndefinedLocal", "message": "l"},
            {"line": 2, "column": 4, "code": "IsLiteral", "message": "i"},
            {"line": 1, "column": 1, "code": "BareExcept", "message": "b"},
        ]

    result = report_lint({"source": "x = 1\n"}, check)
    assert [(p["severity"], p["line"], p["code"]) for p in result["problems"]] == [
        ("error", 2, "IsLiteral"),
        ("error", 2, "UndefinedLocal"),
        ("error", 3, "UndefinedName"),
        ("warning", 1, "BareExcept"),
        ("warning", 1, "UnusedImport"),
    ]


# Re-exports


def test_redundant_aliases_are_re_exports_other_aliases_are_not() -> None:
    source = """
        from .core import X as X
        from .core import Y as Z
        from . import sub as sub
        import c as c
        import a.b as b
        import d.e
        """
    assert lint(source) == ([(2, "UnusedImport"), (5, "UnusedImport"), (6, "UnusedImport")], 0)


def test_aliases_are_named_as_pyflakes_names_them() -> None:
    result = run_lint({"source": "import a.b as b\nfrom m import k as kk\n"})
    assert [p["message"] for p in result["problems"]] == [
        "'a.b' imported but unused",
        "'m.k as kk' imported but unused",
    ]
