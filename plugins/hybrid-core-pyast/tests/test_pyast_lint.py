"""python.lint: each check on hand-written code, the result's shape, and generated modules."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_core_pyast import parse, run_lint


def lint(source: str) -> list[tuple[int, int, str, str]]:
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n"), "path": "m.py"})
    assert result["ok"] is True
    return [(p["line"], p["column"], p["code"], p["message"]) for p in result["problems"]]


def codes(source: str, code: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of the problems with ``code``."""
    return [(line, col, message) for line, col, c, message in lint(source) if c == code]


def unused(source: str) -> list[tuple[int, str]]:
    return [(line, message) for line, _, message in codes(source, "UnusedImport")]


# UnusedImport


def test_unused_imports_are_named_as_imported() -> None:
    source = """
        import os, sys
        import json as j
        from m import n, k as kk
        from . import rel
        from ..pkg import deep
        import xml.dom
        print(sys)
        """
    assert unused(source) == [
        (1, "'os' imported but unused"),
        (2, "'json as j' imported but unused"),
        (3, "'m.k as kk' imported but unused"),
        (3, "'m.n' imported but unused"),
        (4, "'.rel' imported but unused"),
        (5, "'..pkg.deep' imported but unused"),
        (6, "'xml.dom' imported but unused"),
    ]


def test_a_name_read_anywhere_is_used() -> None:
    source = """
        import os, re, json, abc, functools, shutil, stat
        from x import Base

        @functools.cache
        def f(pattern=re.compile("x")):
            return os.path.join("a", "b")

        class C(Base, metaclass=abc.ABCMeta):
            size = len(stat.filemode(0))

            def m(self):
                return [json.dumps(v) for v in self]

        del shutil
        """
    assert unused(source) == []


def test_a_local_of_the_same_name_still_counts_as_a_read() -> None:
    # The checks err towards silence; a scope-aware checker would report 'os' here.
    assert unused("import os\ndef f(os):\n    return os\n") == []


def test_names_in_dunder_all_are_used() -> None:
    source = """
        import a, b, c, d, e, f, g
        __all__ = ["a"]
        __all__ += ("b",)
        __all__.extend(["c"])
        __all__.append("d")
        __all__: list[str] = __all__ + ["e"]
        """
    assert unused(source) == [(1, "'f' imported but unused"), (1, "'g' imported but unused")]


def test_type_checking_imports_used_in_quoted_annotations_are_used() -> None:
    source = """
        from __future__ import annotations
        from typing import TYPE_CHECKING, Callable, Literal, TypeVar, cast

        if TYPE_CHECKING:
            from collections.abc import Iterator, Sequence
            from pkg import A, B, C, D, E, F, Unused

        def f(x: "A", *rest: "list['B']") -> "Iterator[C]":
            y: "D" = cast("Sequence[int]", x)
            return y

        T = TypeVar("T", bound="E")
        Handler = Callable[["F"], None]
        Mode = Literal["Unused"]
        """
    assert unused(source) == [(6, "'pkg.Unused' imported but unused")]


def test_unparsable_forward_references_name_nothing() -> None:
    source = """
        from typing import Any
        import os
        def f(x: "not valid python (", y: "os\\0") -> Any: ...
        """
    assert unused(source) == [(2, "'os' imported but unused")]


def test_future_and_star_imports_are_never_reported() -> None:
    assert unused("from __future__ import annotations\nfrom os import *\n") == []


def test_imports_inside_functions_and_classes_are_not_checked() -> None:
    source = """
        def f():
            import os

        class C:
            import sys
        """
    assert unused(source) == []


def test_imports_in_module_level_blocks_are_checked() -> None:
    source = """
        try:
            import tomllib
        except ImportError:
            pass
        if True:
            import fcntl
        with open("f") as fh:
            import mmap
        """
    assert unused(source) == [
        (2, "'tomllib' imported but unused"),
        (6, "'fcntl' imported but unused"),
        (8, "'mmap' imported but unused"),
    ]


def test_an_import_rebound_later_at_module_level_is_not_reported() -> None:
    # As in pyflakes, the name's last binding is what counts, and here it is no import.
    source = """
        try:
            import ssl
        except ImportError:
            ssl = None
        import json
        def json(): pass
        import re
        for re in range(3):
            pass
        """
    assert unused(source) == []


def test_a_submodule_import_reached_through_an_alias_is_used() -> None:
    source = """
        import multiprocessing as mp
        import multiprocessing.connection
        import email.mime as mime
        import email.mime.text
        import xml.etree.ElementTree
        import os.path
        mp.connection.wait([])
        mime.text.MIMEText("x")
        """
    assert unused(source) == [
        (5, "'xml.etree.ElementTree' imported but unused"),
        (6, "'os.path' imported but unused"),
    ]


def test_a_name_imported_twice_is_reported_at_its_last_import() -> None:
    source = """
        try:
            import tomllib
        except ImportError:
            import tomli as tomllib
        import os
        import os.path
        """
    assert unused(source) == [
        (4, "'tomli as tomllib' imported but unused"),
        (6, "'os.path' imported but unused"),
    ]


# RedefinedWhileUnused


def redefined(source: str) -> list[tuple[int, int, str]]:
    return codes(source, "RedefinedWhileUnused")


def test_redefinitions_of_defs_classes_and_imports() -> None:
    source = """
        import json
        import json
        def f(): return f()
        @decorator
        def f(): pass
        class C: pass
        class C: pass
        import sys
        def sys(): pass
        """
    assert redefined(source) == [
        (2, 1, "redefinition of unused 'json' from line 1"),
        (5, 1, "redefinition of unused 'f' from line 3"),
        (7, 1, "redefinition of unused 'C' from line 6"),
        (9, 1, "redefinition of unused 'sys' from line 8"),
    ]


def test_redefinitions_inside_class_and_function_bodies() -> None:
    source = """
        class C:
            def m(self): pass
            def m(self): pass

        def outer():
            def inner(): pass
            def inner(): pass
            return inner
        """
    assert redefined(source) == [
        (3, 5, "redefinition of unused 'm' from line 2"),
        (7, 5, "redefinition of unused 'inner' from line 6"),
    ]


def test_a_use_or_other_binding_in_between_is_not_a_redefinition() -> None:
    source = """
        def f(): pass
        f()
        def f(): pass
        import os
        def g(): return os.sep
        import os
        def h(): pass
        h = staticmethod(h)
        def h(): pass
        """
    assert redefined(source) == []


def test_a_redefinition_that_reads_the_name_first_is_not_reported() -> None:
    source = """
        class C:
            @property
            def x(self): return 1
            @x.setter
            def x(self, value): pass

        class Base: pass
        class Base(Base): pass
        class Registry: pass
        class Registry:
            previous = Registry
        def d(): pass
        def d(arg=d): pass
        """
    assert redefined(source) == []


def test_a_defs_body_runs_later_so_it_reads_the_new_binding() -> None:
    source = """
        def f(): pass
        def f(): return f()
        """
    assert redefined(source) == [(2, 1, "redefinition of unused 'f' from line 1")]


def test_overloads_throwaway_names_and_submodules_are_not_redefinitions() -> None:
    source = """
        import typing
        from typing import overload
        @overload
        def f(x: int) -> int: ...
        @typing.overload
        def f(x: str) -> str: ...
        def f(x): return x
        def _(): pass
        def _(): pass
        import os
        import os.path
        """
    assert redefined(source) == []


def test_definitions_in_different_branches_are_not_redefinitions() -> None:
    source = """
        if cond:
            def f(): pass
        else:
            def f(): pass
        try:
            from json import loads
        except ImportError:
            def loads(s): pass
        def g(): pass
        if cond:
            def g(): pass
        """
    assert redefined(source) == []


# BareExcept


def test_bare_except_is_reported_where_the_handler_starts() -> None:
    source = """
        try:
            pass
        except ValueError:
            pass
        except:
            pass
        def f():
            try:
                pass
            except:
                raise
        """
    message = (
        "bare 'except:' also catches KeyboardInterrupt and SystemExit; "
        "name the exceptions to catch, e.g. 'except Exception:'"
    )
    assert codes(source, "BareExcept") == [(5, 1, message), (10, 5, message)]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is Python 3.11 syntax")
def test_except_star_always_names_its_types() -> None:
    assert codes("try:\n    pass\nexcept* ValueError:\n    pass\n", "BareExcept") == []


# MutableDefaultArgument


def mutable(source: str) -> list[tuple[int, int, str]]:
    """(line, column, argument and kind) of each mutable default."""
    found = codes(source, "MutableDefaultArgument")
    return [(line, col, message.split(",")[0]) for line, col, message in found]


def test_mutable_defaults_of_every_kind() -> None:
    source = """
        def f(a=[], b={}, c={1}, d=[x for x in y], e={k: v for k, v in y}, f={x for x in y}):
            pass
        def g(a=list(), b=dict(), c=set(), d=bytearray(b"x"), e=deque(), f=OrderedDict()):
            pass
        def h(a=collections.defaultdict(list), b=collections.Counter(), c=Counter()):
            pass
        """
    assert mutable(source) == [
        (1, 9, "argument 'a' defaults to a mutable list"),
        (1, 15, "argument 'b' defaults to a mutable dict"),
        (1, 21, "argument 'c' defaults to a mutable set"),
        (1, 28, "argument 'd' defaults to a mutable list"),
        (1, 46, "argument 'e' defaults to a mutable dict"),
        (1, 70, "argument 'f' defaults to a mutable set"),
        (3, 9, "argument 'a' defaults to a mutable list"),
        (3, 19, "argument 'b' defaults to a mutable dict"),
        (3, 29, "argument 'c' defaults to a mutable set"),
        (3, 38, "argument 'd' defaults to a mutable bytearray"),
        (3, 57, "argument 'e' defaults to a mutable deque"),
        (3, 68, "argument 'f' defaults to a mutable OrderedDict"),
        (5, 9, "argument 'a' defaults to a mutable defaultdict"),
        (5, 42, "argument 'b' defaults to a mutable Counter"),
        (5, 67, "argument 'c' defaults to a mutable Counter"),
    ]


def test_mutable_defaults_of_every_kind_of_parameter() -> None:
    source = """
        def f(a, b=[], /, c=(), *args, d={}, e, **kw):
            pass
        async def g(*, h=set()):
            pass
        square = lambda v, acc=[]: acc
        """
    assert mutable(source) == [
        (1, 12, "argument 'b' defaults to a mutable list"),
        (1, 34, "argument 'd' defaults to a mutable dict"),
        (3, 18, "argument 'h' defaults to a mutable set"),
        (5, 24, "argument 'acc' defaults to a mutable list"),
    ]


def test_immutable_and_unknown_defaults_are_fine() -> None:
    source = """
        def f(a=None, b=(), c=frozenset(), d=tuple(), e="s", f=0, g=obj.list(), h=make()):
            pass
        """
    assert mutable(source) == []


# IsLiteral


def test_is_with_a_literal() -> None:
    source = """
        x is "a"
        x is not b"a"
        1 is x
        x is -1
        x is +1.5
        x is 2j
        """
    assert codes(source, "IsLiteral") == [
        (1, 1, "'is' compares identity, not value; use '==' to compare with the str literal"),
        (
            2,
            1,
            "'is not' compares identity, not value; use '!=' to compare with the bytes literal",
        ),
        (3, 1, "'is' compares identity, not value; use '==' to compare with the int literal"),
        (4, 1, "'is' compares identity, not value; use '==' to compare with the int literal"),
        (5, 1, "'is' compares identity, not value; use '==' to compare with the float literal"),
        (6, 1, "'is' compares identity, not value; use '==' to compare with the complex literal"),
    ]


def test_is_with_singletons_names_and_tuples_is_fine() -> None:
    source = """
        x is None
        x is not True
        False is x
        x is ...
        x is y
        x is ()
        x is -y
        x == "a"
        """
    assert codes(source, "IsLiteral") == []


def test_each_literal_comparison_of_a_chain_is_reported() -> None:
    found = codes("if a < 1 is x is 'b':\n    pass\n", "IsLiteral")
    assert [(line, col) for line, col, _ in found] == [(1, 4), (1, 4)]


# FStringMissingPlaceholders


def test_f_strings_without_placeholders() -> None:
    source = """
        a = f"plain"
        b = f""
        c = f"{{braces}}"
        d = "a" f"b"
        e = f"{f'inner'}"
        """
    message = "f-string has no placeholders; drop the 'f' prefix"
    assert codes(source, "FStringMissingPlaceholders") == [
        (1, 5, message),
        (2, 5, message),
        (3, 5, message),
        (4, 5, message),
        (5, 8, message),
    ]


def test_format_specs_are_not_f_strings() -> None:
    source = """
        a = f"{x}"
        b = f"{x:>10}"
        c = f"{x!r:{width}.{precision}}"
        d = ("a"
             f"{b}")
        """
    assert codes(source, "FStringMissingPlaceholders") == []


# The result


def test_the_result_is_sorted_and_plain_data() -> None:
    source = """
        import os
        def f(a=[]):
            try:
                return f"x" if a is 1 else 0
            except:
                pass
        """
    result = run_lint({"source": textwrap.dedent(source).lstrip("\n"), "path": "r.py"})
    assert json.loads(json.dumps(result)) == result
    assert list(result) == ["path", "ok", "problems", "suppressed"]
    assert [(p["severity"], p["line"], p["column"], p["rule"]) for p in result["problems"]] == [
        ("error", 4, 24, "F632"),  # IsLiteral: errors come first
        ("warning", 1, 1, "F401"),
        ("warning", 2, 9, "B006"),
        ("warning", 4, 16, "F541"),
        ("warning", 5, 5, "E722"),
    ]
    for problem in result["problems"]:
        assert list(problem) == ["line", "column", "code", "message", "rule", "severity"]


def test_clean_code_has_no_problems() -> None:
    result = run_lint({"source": "import os\n\nprint(os.sep)\n", "path": "ok.py"})
    assert result == {"path": "ok.py", "ok": True, "problems": [], "suppressed": 0}


def test_code_that_does_not_parse_gives_the_error_record() -> None:
    result = run_lint({"source": "import os\ndef f(:\n", "path": "bad.py"})
    error = parse("import os\ndef f(:\n", "bad.py")
    assert not isinstance(error, ast.Module)
    assert result == {
        "path": "bad.py",
        "ok": False,
        "error": error,
        "problems": [],
        "suppressed": 0,
    }


def test_a_tree_gives_the_same_result_as_its_source() -> None:
    source = "import os\nx is 'a'\n"
    tree = ast.parse(source)
    assert run_lint({"tree": tree, "path": "t.py"}) == run_lint({"source": source, "path": "t.py"})


# Generated modules: which imports are unused follows from the structure alone.

NAMES = ["alpha", "beta", "gamma", "delta"]
imports = st.lists(
    st.tuples(st.sampled_from(["import", "from", "as", "assign"]), st.sampled_from(NAMES)),
    max_size=8,
)
modules = st.tuples(
    imports,
    st.sets(st.sampled_from(NAMES)),  # read inside a function
    st.sets(st.sampled_from(NAMES)),  # listed in __all__
)


def render_import(form: str, name: str) -> tuple[str, str]:
    """The statement, and how the report names what it imports ("" for no import)."""
    if form == "assign":
        return f"{name} = None", ""
    if form == "import":
        return f"import {name}", name
    if form == "from":
        return f"from pkg import {name}", f"pkg.{name}"
    return f"import lib_{name} as {name}", f"lib_{name} as {name}"


@settings(max_examples=200, deadline=None)
@given(modules)
def test_generated_modules_report_exactly_the_unused_names(module: tuple[Any, ...]) -> None:
    statements, read, exported = module
    lines: list[str] = []
    last: dict[str, tuple[int, str] | None] = {}
    for form, name in statements:
        statement, shown = render_import(form, name)
        lines.append(statement)
        if shown:
            last[name] = (len(lines), shown)
        elif name in last:
            last[name] = None  # the last binding of the name is no import
    lines.append(f"__all__ = {sorted(exported)!r}")
    lines.append("def use():")
    lines.append("    return (" + "".join(f"{name}, " for name in sorted(read)) + ")")
    expected = sorted(
        (found[0], f"{found[1]!r} imported but unused")
        for name, found in last.items()
        if found is not None and name not in read | exported
    )
    assert unused("\n".join(lines) + "\n") == expected
