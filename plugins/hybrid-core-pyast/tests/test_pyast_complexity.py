"""python.complexity: hand-counted cases, ranks, totals, and generated programs."""

from __future__ import annotations

import itertools
import json
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_core_pyast import run_complexity, run_imports, run_parse, run_symbols
from hybrid_core_pyast.complexity_cases import CASES as COMMON_CASES


def scores(source: str) -> dict[str, int]:
    result = run_complexity({"source": textwrap.dedent(source)})
    assert result["ok"] is True
    return {f["qualname"]: f["complexity"] for f in result["functions"]}


def score(source: str) -> int:
    (value,) = scores(source).values()
    return value


# The cases where this engine's count differs from radon's (the rest are shared).
OWN_CASES = {
    "two handlers, try else and finally add only the handlers": (
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
        3,
    ),
    "match with a trailing guarded wildcard": (
        """
        def f(v, g):
            match v:
                case 1:
                    pass
                case _ if g:
                    pass
        """,
        3,
    ),
    "match with an irrefutable or-pattern": (
        """
        def f(v):
            match v:
                case 1:
                    pass
                case 2 | _:
                    pass
        """,
        2,
    ),
}
CASES = {**COMMON_CASES, **OWN_CASES}


@pytest.mark.parametrize(("source", "expected"), CASES.values(), ids=CASES.keys())
def test_hand_counted_complexity(source: str, expected: int) -> None:
    assert score(source) == expected


def test_nested_defs_are_scored_on_their_own() -> None:
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
    assert scores(source) == {"outer": 2, "outer.<locals>.inner": 4}


def test_decorators_and_defaults_of_a_nested_def_count_where_they_run() -> None:
    source = """
        def outer(a, b):
            @register(a or b)
            def inner(x=1 if a else 2, *, y=a and b):
                return x
            return inner
        """
    assert scores(source) == {"outer": 4, "outer.<locals>.inner": 1}


def test_a_functions_own_decorators_and_defaults_are_not_its_own_decisions() -> None:
    assert scores("@deco(a or b)\ndef f(x=1 if c else 2):\n    pass\n") == {"f": 1}


def test_a_class_body_inside_a_function_counts_there_and_its_methods_apart() -> None:
    source = """
        def factory(flag):
            class Local:
                size = 1 if flag else 2

                def method(self):
                    return self.size or flag
            return Local
        """
    assert scores(source) == {"factory": 2, "factory.<locals>.Local.method": 2}


def test_methods_and_module_code() -> None:
    source = """
        if __name__ == "__main__":
            print("module code is not scored")

        class Shape:
            area = 0 if True else 1

            def grow(self, by):
                return self.area + by if by else self.area

            async def fetch(self):
                pass
        """
    assert scores(source) == {"Shape.grow": 2, "Shape.fetch": 1}


@pytest.mark.parametrize(
    ("decisions", "rank"),
    [
        (0, "A"),
        (4, "A"),
        (5, "B"),
        (9, "B"),
        (10, "C"),
        (19, "C"),
        (20, "D"),
        (29, "D"),
        (30, "E"),
        (39, "E"),
        (40, "F"),
        (60, "F"),
    ],
)
def test_rank_boundaries(decisions: int, rank: str) -> None:
    body = "".join(f"    if x == {i}:\n        pass\n" for i in range(decisions)) or "    pass\n"
    result = run_complexity({"source": f"def f(x):\n{body}"})
    (function,) = result["functions"]
    assert (function["complexity"], function["rank"]) == (decisions + 1, rank)


def test_totals_over_the_file() -> None:
    source = """
        def a(x):
            return x

        def b(x):
            if x:
                return 1
            return 2 if x else 3

        class C:
            def c(self, x):
                return x and self
        """
    result = run_complexity({"source": textwrap.dedent(source).lstrip("\n"), "path": "t.py"})
    assert result == {
        "path": "t.py",
        "ok": True,
        "functions": [
            {"qualname": "a", "lineno": 1, "end_lineno": 2, "complexity": 1, "rank": "A"},
            {"qualname": "b", "lineno": 4, "end_lineno": 7, "complexity": 3, "rank": "A"},
            {"qualname": "C.c", "lineno": 10, "end_lineno": 11, "complexity": 2, "rank": "A"},
        ],
        "totals": {"count": 3, "total": 6, "max": 3, "average": 2.0},
    }


def test_average_is_rounded_to_two_places() -> None:
    source = "def a():\n    pass\ndef b():\n    pass\ndef c(x):\n    assert x\n"
    assert run_complexity({"source": source})["totals"]["average"] == 1.33


def test_a_file_without_functions_has_zero_totals() -> None:
    result = run_complexity({"source": "x = 1 if y else 2\n"})
    assert result["functions"] == []
    assert result["totals"] == {"count": 0, "total": 0, "max": 0, "average": 0.0}


def test_a_syntax_error_gives_an_empty_result() -> None:
    result = run_complexity({"source": "def f(:\n", "path": "bad.py"})
    assert result["ok"] is False
    assert result["functions"] == []
    assert result["totals"]["count"] == 0


# Generated programs: each node says what it adds to the function it is in, counted here
# from the structure alone, independently of the engine's syntax-tree walk.

leaves = st.one_of(
    st.just(("pass",)),
    st.tuples(st.just("bool"), st.lists(st.sampled_from(["and", "or"]), min_size=1, max_size=4)),
    st.just(("ifexp",)),
    st.tuples(st.just("comp"), st.lists(st.integers(0, 2), min_size=1, max_size=3)),
    st.just(("assert",)),
    st.just(("lambda",)),
)


def _compound(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    block = st.lists(children, min_size=1, max_size=3)
    maybe = st.none() | block
    operands = st.integers(1, 3)
    return st.one_of(
        st.tuples(
            st.just("if"), operands, block, st.lists(st.tuples(operands, block), max_size=2), maybe
        ),
        st.tuples(st.just("for"), block, maybe),
        st.tuples(st.just("while"), operands, block, maybe),
        st.tuples(st.just("try"), block, st.lists(block, min_size=1, max_size=3), maybe, maybe),
        st.tuples(st.just("with"), block),
        st.tuples(
            st.just("match"),
            st.lists(block, min_size=1, max_size=3),
            st.sampled_from([None, "_", "other", "_ if guard"]),
            block,
        ),
        st.tuples(st.just("def"), block),
    )


statements = st.recursive(leaves, _compound, max_leaves=30)
bodies = st.lists(statements, min_size=1, max_size=3)
programs = st.tuples(st.lists(bodies, min_size=1, max_size=3), statements)


class Program:
    """Renders a generated structure to source and records each function's expected score.

    Each ``_<kind>`` method writes one node's lines and returns the decisions the node
    adds to the function it is in.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.expected: list[tuple[str, int]] = []
        self._names: Iterator[int] = itertools.count()

    def node(self, node: tuple[Any, ...], depth: int, scope: str) -> int:
        return int(getattr(self, "_" + node[0])(node[1:], depth, scope))

    def block(self, nodes: list[Any] | None, depth: int, scope: str) -> int:
        return sum(self.node(node, depth, scope) for node in nodes or [("pass",)])

    def line(self, text: str, depth: int) -> None:
        self.lines.append("    " * depth + text)

    def _pass(self, _: Any, depth: int, scope: str) -> int:
        self.line("pass", depth)
        return 0

    def _bool(self, fields: Any, depth: int, scope: str) -> int:
        (ops,) = fields
        self.line("x = a0 " + " ".join(f"{op} a{i + 1}" for i, op in enumerate(ops)), depth)
        return len(ops)

    def _ifexp(self, _: Any, depth: int, scope: str) -> int:
        self.line("x = a if b else c", depth)
        return 1

    def _comp(self, fields: Any, depth: int, scope: str) -> int:
        (ifs,) = fields
        clauses = " ".join(f"for i{n} in j" + " if i" * k for n, k in enumerate(ifs))
        self.line(f"y = [i0 {clauses}]", depth)
        return sum(1 + k for k in ifs)

    def _assert(self, _: Any, depth: int, scope: str) -> int:
        self.line("assert a, 'message'", depth)
        return 1

    def _lambda(self, _: Any, depth: int, scope: str) -> int:
        self.line("g = lambda v: v if v else None", depth)
        return 1

    def _if(self, fields: Any, depth: int, scope: str) -> int:
        k, body, elifs, orelse = fields
        self.line(f"if {self._cond(k)}:", depth)
        total = k + self.block(body, depth + 1, scope)
        for k_elif, elif_body in elifs:
            self.line(f"elif {self._cond(k_elif)}:", depth)
            total += k_elif + self.block(elif_body, depth + 1, scope)
        return total + self._else(orelse, depth, scope)

    def _for(self, fields: Any, depth: int, scope: str) -> int:
        body, orelse = fields
        self.line("for item in items:", depth)
        total = 1 + self.block(body, depth + 1, scope)
        return total + (orelse is not None) + self._else(orelse, depth, scope)

    def _while(self, fields: Any, depth: int, scope: str) -> int:
        k, body, orelse = fields
        self.line(f"while {self._cond(k)}:", depth)
        total = k + self.block(body, depth + 1, scope)
        return total + (orelse is not None) + self._else(orelse, depth, scope)

    def _try(self, fields: Any, depth: int, scope: str) -> int:
        body, handlers, orelse, final = fields
        self.line("try:", depth)
        total = self.block(body, depth + 1, scope)
        for n, handler in enumerate(handlers):
            self.line(f"except E{n}:", depth)
            total += 1 + self.block(handler, depth + 1, scope)
        total += self._else(orelse, depth, scope)
        if final is not None:
            self.line("finally:", depth)
            total += self.block(final, depth + 1, scope)
        return total

    def _with(self, fields: Any, depth: int, scope: str) -> int:
        (body,) = fields
        self.line("with m as n:", depth)
        return self.block(body, depth + 1, scope)

    def _match(self, fields: Any, depth: int, scope: str) -> int:
        cases, last, last_body = fields
        self.line("match v:", depth)
        total = 0
        for n, case in enumerate(cases):
            self.line(f"case {n}:", depth + 1)
            total += 1 + self.block(case, depth + 2, scope)
        if last is not None:
            self.line(f"case {last}:", depth + 1)
            total += (last == "_ if guard") + self.block(last_body, depth + 2, scope)
        return total

    def _def(self, fields: Any, depth: int, scope: str) -> int:
        (body,) = fields
        name = f"f{next(self._names)}"
        self.line(f"def {name}(a, b):", depth)
        slot = len(self.expected)
        self.expected.append((scope + name, 0))
        own = 1 + self.block(body, depth + 1, f"{scope}{name}.<locals>.")
        self.expected[slot] = (scope + name, own)
        return 0

    def _else(self, orelse: list[Any] | None, depth: int, scope: str) -> int:
        if orelse is None:
            return 0
        self.line("else:", depth)
        return self.block(orelse, depth + 1, scope)

    @staticmethod
    def _cond(k: int) -> str:
        return " and ".join(f"c{n}" for n in range(k))


@settings(max_examples=300, deadline=None)
@given(programs)
def test_generated_programs_score_as_counted(program: tuple[list[Any], Any]) -> None:
    functions, module_code = program
    rendered = Program()
    for body in functions:
        rendered.node(("def", body), 0, "")
    rendered.node(module_code, 0, "")
    source = "\n".join(rendered.lines) + "\n"
    result = run_complexity({"source": source})
    assert result["ok"] is True, source
    got = [(f["qualname"], f["complexity"]) for f in result["functions"]]
    assert got == rendered.expected, source
    symbols = run_symbols({"source": source})["symbols"]
    assert [s["qualname"] for s in symbols] == [name for name, _ in rendered.expected]
    for handler in (run_parse, run_imports):
        outcome = handler({"source": source})
        assert outcome["ok"] is True
        assert json.loads(json.dumps(outcome)) == outcome
