"""Hand-counted complexity cases on which this engine and radon agree.

``CASES`` maps a description to the source of one function and its score under the
rules the README's ``python.complexity`` section gives, which radon follows too in
every case listed here. This distribution's tests and ``hybrid-core-pyanalysis``'s run
them, so a rule the two engines share is written down once; the cases where they differ
stay with each engine's own tests. Another engine built on ``report_complexity`` can run
them as well. Sources are dedented; each defines exactly one function.
"""

from __future__ import annotations

from textwrap import dedent

__all__ = ["CASES"]

_RAW: dict[str, tuple[str, int]] = {
    "straight line": ("def f(x):\n    y = x + 1\n    return y\n", 1),
    "if elif else": (
        """
        def f(x):
            if x > 1:
                return 1
            elif x < 0:
                return -1
            else:
                return 0
        """,
        3,
    ),
    "for with else": (
        """
        def f(xs):
            for x in xs:
                pass
            else:
                pass
        """,
        3,
    ),
    "while without else": ("def f(x):\n    while x:\n        x -= 1\n", 2),
    "async for and async with": (
        """
        async def f(xs):
            async with xs:
                async for x in xs:
                    pass
        """,
        2,
    ),
    "with adds nothing": ("def f(m):\n    with m as a, m as b:\n        pass\n", 1),
    "each extra operand of and/or": ("def f(a, b, c, d):\n    return a and b and c or d\n", 4),
    "boolean operators inside a condition": (
        """
        def f(a, b):
            if a or b:
                pass
        """,
        3,
    ),
    "comprehension fors and ifs": (
        """
        def f(xs):
            return [x for x in xs if x if x > 1 for _ in x]
        """,
        5,
    ),
    "generator, set and dict comprehensions": (
        """
        def f(xs):
            a = {x for x in xs}
            b = {x: x for x in xs if x}
            return sum(x for x in xs), a, b
        """,
        5,
    ),
    "conditional expression": ("def f(a):\n    return 1 if a else 2\n", 2),
    "assert": ("def f(a):\n    assert a, 'a is required'\n", 2),
    "match with a trailing wildcard": (
        """
        def f(v):
            match v:
                case 1:
                    pass
                case "s" | "t":
                    pass
                case _:
                    pass
        """,
        3,
    ),
    "match without a wildcard": (
        """
        def f(v):
            match v:
                case 1:
                    pass
                case [x, *_]:
                    pass
        """,
        3,
    ),
    "match with a trailing capture pattern": (
        """
        def f(v):
            match v:
                case int():
                    pass
                case other:
                    pass
        """,
        2,
    ),
    "lambdas count towards their function": (
        """
        def f(xs):
            return sorted(xs, key=lambda x: x if x else 0)
        """,
        2,
    ),
    "break and continue add nothing": (
        """
        def f(xs):
            for x in xs:
                if x:
                    continue
                break
        """,
        3,
    ),
}

CASES: dict[str, tuple[str, int]] = {
    name: (dedent(source), score) for name, (source, score) in _RAW.items()
}
