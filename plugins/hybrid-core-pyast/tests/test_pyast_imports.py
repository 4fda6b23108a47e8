"""python.imports: modules, names and their lines, relative resolution, import-time flags."""

from __future__ import annotations

from typing import Any

import pytest

from hybrid_core_pyast import run_imports

SOURCE = """\
from __future__ import annotations

import os.path as osp, sys
from collections import OrderedDict, defaultdict as dd
from . import sibling
from .models import User
from .. import config
from ...core.base import *
import typing

if typing.TYPE_CHECKING:
    from collections.abc import Iterator
elif sys.platform == "win32":
    import winreg
else:
    import fcntl

try:
    import tomllib
except ImportError:
    import tomli as tomllib


class Loader:
    import json

    def load(self):
        import pickle
        if TYPE_CHECKING:
            from io import BytesIO
        return pickle
"""


def record(
    module: str,
    names: list[str],
    line: int,
    level: int = 0,
    *,
    lines: list[int] | None = None,
    type_checking: bool = False,
    deferred: bool = False,
    main_guard: bool = False,
    in_class: bool = False,
) -> dict[str, Any]:
    return {
        "module": module,
        "names": names,
        "lines": [line] * len(names) if lines is None else lines,
        "line": line,
        "level": level,
        "type_checking": type_checking,
        "deferred": deferred,
        "main_guard": main_guard,
        "in_class": in_class,
        "import_time": not (type_checking or deferred or main_guard),
    }


def imports(**payload: Any) -> list[dict[str, Any]]:
    result = run_imports({"source": SOURCE, **payload})
    assert result["ok"] is True
    return list(result["imports"])


def test_every_import_in_source_order_with_relative_ones_kept() -> None:
    assert imports(path="pkg/sub/loader.py") == [
        record("__future__", ["annotations"], 1),
        record("os.path", [], 3),
        record("sys", [], 3),
        record("collections", ["OrderedDict", "defaultdict"], 4),
        record(".", ["sibling"], 5, 1),
        record(".models", ["User"], 6, 1),
        record("..", ["config"], 7, 2),
        record("...core.base", ["*"], 8, 3),
        record("typing", [], 9),
        record("collections.abc", ["Iterator"], 12, type_checking=True),
        record("winreg", [], 14),
        record("fcntl", [], 16),
        record("tomllib", [], 19),
        record("tomli", [], 21),
        record("json", [], 25, in_class=True),
        record("pickle", [], 28, deferred=True, in_class=True),
        record("io", ["BytesIO"], 30, type_checking=True, deferred=True, in_class=True),
    ]


def relative_modules(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(r["module"], r["level"]) for r in found if r["level"]]


def test_relative_imports_resolve_against_the_files_package() -> None:
    found = imports(path="src/a/b/c/loader.py", module="a.b.c.loader")
    assert relative_modules(found) == [
        ("a.b.c", 1),
        ("a.b.c.models", 1),
        ("a.b", 2),
        ("a.core.base", 3),
    ]


def test_an_init_file_is_its_own_package() -> None:
    found = imports(path="src/a/b/c/__init__.py", module="a.b.c")
    assert relative_modules(found) == [
        ("a.b.c", 1),
        ("a.b.c.models", 1),
        ("a.b", 2),
        ("a.core.base", 3),
    ]


def test_imports_beyond_the_top_level_package_keep_their_dots() -> None:
    found = imports(path="b/loader.py", module="b.loader")
    assert relative_modules(found) == [
        ("b", 1),
        ("b.models", 1),
        ("..", 2),
        ("...core.base", 3),
    ]


def test_a_top_level_module_has_no_package_to_resolve_against() -> None:
    found = imports(path="loader.py", module="loader")
    assert relative_modules(found)[0] == (".", 1)


def test_the_module_name_is_echoed_in_the_result() -> None:
    result = run_imports({"source": "import os\n", "module": "pkg.mod"})
    assert result["module"] == "pkg.mod"
    assert run_imports({"source": "import os\n"})["module"] is None


@pytest.mark.parametrize(
    ("guard", "type_checking"),
    [
        ("TYPE_CHECKING", True),
        ("typing.TYPE_CHECKING", True),
        ("t.TYPE_CHECKING", True),
        ("not TYPE_CHECKING", False),
        ("CHECKING", False),
    ],
)
def test_type_checking_guards(guard: str, type_checking: bool) -> None:
    result = run_imports({"source": f"if {guard}:\n    import x\n"})
    assert result["imports"][0]["type_checking"] is type_checking


def test_imports_inside_async_functions_are_deferred() -> None:
    result = run_imports({"source": "async def f():\n    import x\n"})
    assert result["imports"][0]["deferred"] is True


def test_a_syntax_error_gives_no_imports() -> None:
    result = run_imports({"source": "import\n", "module": "pkg.mod"})
    assert (result["ok"], result["imports"], result["module"]) == (False, [], "pkg.mod")


def flags(source: str) -> list[tuple[str, bool, bool, bool, bool]]:
    """(module, import_time, type_checking, main_guard, deferred) for each record."""
    return [
        (r["module"], r["import_time"], r["type_checking"], r["main_guard"], r["deferred"])
        for r in run_imports({"source": source})["imports"]
    ]


def test_a_main_guard_body_does_not_run_on_import_but_its_else_does() -> None:
    source = (
        'if __name__ == "__main__":\n    import cli\nelse:\n    import lib\n'
        "if '__main__' == __name__:\n    import cli2\n"
        'if __name__ != "__main__":\n    import lib2\nelse:\n    import cli3\n'
        'if not __name__ == "__main__":\n    import lib3\n'
        'if __name__ == "other":\n    import other\n'
    )
    assert flags(source) == [
        ("cli", False, False, True, False),
        ("lib", True, False, False, False),
        ("cli2", False, False, True, False),
        ("lib2", True, False, False, False),
        ("cli3", False, False, True, False),
        ("lib3", True, False, False, False),
        ("other", True, False, False, False),
    ]


def test_not_type_checking_runs_its_body_and_flags_its_else() -> None:
    source = "if not TYPE_CHECKING:\n    import fast\nelse:\n    import typed\n"
    assert flags(source) == [
        ("fast", True, False, False, False),
        ("typed", False, True, False, False),
    ]


def test_module_level_blocks_run_at_import_time() -> None:
    source = (
        "try:\n    from ._speedups import g\nexcept ImportError:\n    from ._py import g\n"
        "if sys.version_info >= (3, 11):\n    import tomllib\n"
        "with suppress(ImportError):\n    import yaml\n"
        "for _ in ():\n    import never_mind\n"
    )
    assert [(m, t) for m, t, *_ in flags(source)] == [
        ("._speedups", True),
        ("._py", True),
        ("tomllib", True),
        ("yaml", True),
        ("never_mind", True),
    ]


def test_a_class_body_runs_at_import_time_a_method_or_a_class_in_a_function_does_not() -> None:
    source = (
        "class A:\n    import json\n    def m(self):\n        import pickle\n"
        "def f():\n    class B:\n        import csv\n"
    )
    found = run_imports({"source": source})["imports"]
    assert [(r["module"], r["in_class"], r["import_time"]) for r in found] == [
        ("json", True, True),
        ("pickle", True, False),
        ("csv", True, False),
    ]


def test_each_name_of_a_from_import_has_its_own_line() -> None:
    source = "from x import (\n    a,\n    b as bee,\n\n    c,\n)\nimport os, \\\n    sys\n"
    found = run_imports({"source": source})["imports"]
    assert [(r["module"], r["names"], r["lines"], r["line"]) for r in found] == [
        ("x", ["a", "b", "c"], [2, 3, 5], 1),
        ("os", [], [], 7),
        ("sys", [], [], 8),
    ]
