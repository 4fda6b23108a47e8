"""radon.complexity: hand-counted scores by radon's rules, and each difference from pyast's."""

from __future__ import annotations

import sys
import textwrap

import hybrid_core_pyast
import pytest
from hybrid_core_pyast.complexity_cases import CASES as COMMON_CASES
from radon.complexity import add_inner_blocks, cc_rank, cc_visit
from radon.visitors import Function

from hybrid_core_pyanalysis import run_complexity


def scores(source: str) -> dict[str, int]:
    result = run_complexity({"source": textwrap.dedent(source)})
    assert result["ok"] is True
    return {f["qualname"]: f["complexity"] for f in result["functions"]}


def stdlib_scores(source: str) -> dict[str, int]:
    result = hybrid_core_pyast.run_complexity({"source": textwrap.dedent(source)})
    return {f["qualname"]: f["complexity"] for f in result["functions"]}


def score(source: str) -> int:
    (value,) = scores(source).values()
    return value


# Counted by hand with radon's rules: 1, plus 1 per if/elif, loop (and its else), except
# handler, try-else, extra and/or operand, comprehension clause, conditional expression,
# assert and match case (less one when any case is a bare wildcard or capture).
# Shared with hybrid-core-pyast (COMMON_CASES), plus the one case of this table where
# radon's count differs from pyast's.
OWN_CASES = {
    "two handlers and a try-else; finally adds nothing": (
        """
        def f():
            try:
                pass
            except ValueError:
                pass
            except (KeyError, IndexError):
                pass
            else:
                pass
            finally:
                pass
        """,
        4,
    ),
}
CASES = {**COMMON_CASES, **OWN_CASES}


@pytest.mark.parametrize(("source", "expected"), CASES.values(), ids=CASES.keys())
def test_hand_counted_complexity(source: str, expected: int) -> None:
    assert score(source) == expected


# Every difference the README lists: (source, function, pyast's score, radon's score).
DIFFERENCES = {
    "radon counts a try's else": (
        """
        def f():
            try:
                pass
            except ValueError:
                pass
            else:
                pass
        """,
        "f",
        2,
        3,
    ),
    "radon does not look inside an assert": (
        "def f(a, b):\n    assert a and b, [x for x in a if x]\n",
        "f",
        5,
        2,
    ),
    "radon drops one case for a guarded wildcard": (
        """
        def f(v, g):
            match v:
                case 1:
                    pass
                case _ if g:
                    pass
        """,
        "f",
        3,
        2,
    ),
    "radon drops one case for a guarded capture anywhere": (
        """
        def f(v):
            match v:
                case x if x > 0:
                    pass
                case 1:
                    pass
        """,
        "f",
        3,
        2,
    ),
    "radon keeps an or-pattern with a wildcard": (
        """
        def f(v):
            match v:
                case 1:
                    pass
                case 2 | _:
                    pass
        """,
        "f",
        2,
        3,
    ),
    "radon keeps a wildcard bound with as": (
        """
        def f(v):
            match v:
                case 1:
                    pass
                case _ as whole:
                    pass
        """,
        "f",
        2,
        3,
    ),
    "radon does not charge a nested def's decorators and defaults": (
        """
        def outer(a, b):
            @register(a or b)
            def inner(x=1 if a else 2, *, y=a and b):
                return x
            return inner
        """,
        "outer",
        4,
        1,
    ),
    "radon does not count a class body inside a function": (
        """
        def factory(flag):
            class Local:
                size = 1 if flag else 2

                def method(self):
                    return self.size or flag
            return Local
        """,
        "factory",
        2,
        1,
    ),
}


@pytest.mark.parametrize(
    ("source", "function", "stdlib", "radon"), DIFFERENCES.values(), ids=DIFFERENCES.keys()
)
def test_each_documented_difference_from_pyast(
    source: str, function: str, stdlib: int, radon: int
) -> None:
    assert (stdlib_scores(source)[function], scores(source)[function]) == (stdlib, radon)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is Python 3.11 syntax")
def test_radon_does_not_count_except_star_handlers() -> None:
    source = """
        def f():
            try:
                pass
            except* ValueError:
                pass
            except* KeyError:
                pass
        """
    assert (stdlib_scores(source)["f"], scores(source)["f"]) == (3, 1)


def test_nested_defs_are_scored_on_their_own_as_pyast_does() -> None:
    source = """
        def outer(a):
            if a:
                pass

            def inner(b):
                for _ in b:
                    if b and a:
                        pass
            return inner
        """
    assert scores(source) == stdlib_scores(source) == {"outer": 2, "outer.<locals>.inner": 4}


def test_methods_of_a_class_inside_a_function_are_scored() -> None:
    source = """
        def factory(flag):
            class Local:
                def method(self):
                    return self.size or flag
            return Local
        """
    assert scores(source) == {"factory": 1, "factory.<locals>.Local.method": 2}


RICH = """\
import functools


class Repository:
    class _Cache:
        def get(self, key, default=None):
            if key in self and default:
                return self[key]
            return default

    @functools.lru_cache(maxsize=None)
    def find(self, name, *args, strict=False):
        def match(item):
            return item == name or item.startswith(name)

        for item in args:
            if match(item):
                return item
        return None

    async def load(self):
        try:
            return [x async for x in self if x]
        except (OSError, ValueError):
            return []
        else:
            pass


def main(argv):
    assert argv
    return 0 if not argv else len(argv)
"""


def test_every_score_radon_reports_is_the_score_given() -> None:
    radon = {
        block.lineno: block.complexity
        for block in add_inner_blocks(cc_visit(RICH))
        if isinstance(block, Function)
    }
    result = run_complexity({"source": RICH})
    given = {f["lineno"]: f["complexity"] for f in result["functions"]}
    assert given == radon
    assert given == {6: 3, 12: 3, 13: 2, 21: 5, 30: 3}


def test_the_rank_is_radons() -> None:
    body = "".join(f"    if x == {i}:\n        pass\n" for i in range(44))
    for decisions in (0, 4, 5, 9, 10, 19, 20, 29, 30, 39, 40, 43):
        lines = body.splitlines(keepends=True)[: 2 * decisions]
        source = "def f(x):\n" + ("".join(lines) or "    pass\n")
        (function,) = run_complexity({"source": source})["functions"]
        assert function["complexity"] == decisions + 1
        assert function["rank"] == cc_rank(decisions + 1)


def test_totals_over_the_file() -> None:
    source = """\
def a(x):
    return x

def b(x):
    try:
        return 1
    except KeyError:
        return 2
    else:
        return 3

class C:
    def c(self, x):
        return x and self
"""
    assert run_complexity({"source": source, "path": "t.py"}) == {
        "path": "t.py",
        "ok": True,
        "functions": [
            {"qualname": "a", "lineno": 1, "end_lineno": 2, "complexity": 1, "rank": "A"},
            {"qualname": "b", "lineno": 4, "end_lineno": 10, "complexity": 3, "rank": "A"},
            {"qualname": "C.c", "lineno": 13, "end_lineno": 14, "complexity": 2, "rank": "A"},
        ],
        "totals": {"count": 3, "total": 6, "max": 3, "average": 2.0},
    }


def test_end_lineno_is_the_syntax_trees_not_radons_endline() -> None:
    # radon's endline is the last line where a node starts (2 here); the def ends on 4.
    source = "def f(x):\n    return g(\n        x,\n    )\n"
    (function,) = run_complexity({"source": source})["functions"]
    assert (function["lineno"], function["end_lineno"]) == (1, 4)


def test_code_nested_deeper_than_radon_can_walk_raises_a_recursion_error() -> None:
    source = "def deep(a):\n    return " + " + ".join(["a"] * 1500) + "\n"
    with pytest.raises(RecursionError, match=r"function 'deep' at line 1 nests too deeply"):
        run_complexity({"source": source})
    assert hybrid_core_pyast.run_complexity({"source": source})["functions"][0]["complexity"] == 1
