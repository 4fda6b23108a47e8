"""The package's layers: every import that runs points down, never up or sideways.

The test reads the package's own ``import`` statements (at module level and inside
functions, but not inside ``if TYPE_CHECKING:`` blocks, which never run) and checks each
against ``LAYERS``. A module belongs to the unit named by the first component of its
name below ``hybrid_core`` (``hybrid_core._routing.call`` is in ``_routing``; the
package's own ``__init__`` is ``hybrid_core``). A unit may import itself and any unit in
a later row; units in one row are independent of each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import hybrid_core

PACKAGE = Path(hybrid_core.__file__).parent

# Top to bottom; docs/index.md ("Layout") says the same in words.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("_cli",),
    ("hybrid_core", "testing"),
    ("_system",),
    ("_plugins",),
    ("_config",),
    ("_bridge",),
    ("_workflow", "_routing", "_trace"),
    ("_journal",),
    ("_telemetry",),
    ("_execution",),
    ("_core",),
    ("hookspecs",),
    ("exceptions", "_markers"),
)
RANK = {unit: rank for rank, row in enumerate(LAYERS) for unit in row}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except what sits in an ``if TYPE_CHECKING:`` branch."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for branch in child.orelse:
                yield branch
                yield from _runtime_nodes(branch)
            continue
        yield child
        yield from _runtime_nodes(child)


def runtime_imports(source: str, module: str, *, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute target) of each import of ``hybrid_core`` that runs in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # "from . import hookspecs" imports the module hookspecs, not the package.
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return [(line, target) for line, target in found if target.split(".")[0] == "hybrid_core"]


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """One line per import in ``source`` that points up or sideways."""
    here = unit(module)
    problems = []
    for line, target in runtime_imports(source, module, is_package=is_package):
        there = unit(target) if unit(target) in RANK else "hybrid_core"
        if there != here and RANK[there] <= RANK[here]:
            problems.append(f"{module}:{line} ({here}) imports {target} ({there}), a layer above")
    return problems


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer() -> None:
    unknown = {module_name(p) for p in package_modules() if unit(module_name(p)) not in RANK}
    assert not unknown, f"add these to LAYERS in {__file__}: {sorted(unknown)}"


def test_imports_point_down() -> None:
    problems = [
        problem
        for path in package_modules()
        for problem in violations(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
    ]
    assert not problems, "\n".join(problems)


def test_an_import_from_a_layer_above_is_found() -> None:
    source = "from .._system import Hybrid\n"
    assert violations(source, "hybrid_core._routing.router") == [
        "hybrid_core._routing.router:1 (_routing) imports hybrid_core._system.Hybrid "
        "(_system), a layer above"
    ]


def test_an_import_inside_a_function_counts() -> None:
    source = "def version():\n    from .. import __version__\n    return __version__\n"
    assert violations(source, "hybrid_core._telemetry.jsonl") == [
        "hybrid_core._telemetry.jsonl:2 (_telemetry) imports hybrid_core.__version__ "
        "(hybrid_core), a layer above"
    ]


def test_peers_in_one_row_may_not_import_each_other() -> None:
    source = "from .._routing.router import Router\n"
    assert len(violations(source, "hybrid_core._workflow.runner")) == 1


def test_type_checking_imports_and_imports_down_are_allowed() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .._core.records import Engine\n"
        "from . import bus\n"
        "if TYPE_CHECKING:\n"
        "    from .._system import Hybrid\n"
        "else:\n"
        "    from ..exceptions import HybridCoreError\n"
        "try:\n"
        "    pass\n"
        "except ImportError:\n"
        "    if TYPE_CHECKING:\n"
        "        from .._cli.app import cli\n"
        "    from .._core import util\n"
    )
    assert violations(source, "hybrid_core._telemetry", is_package=True) == []
    assert runtime_imports(source, "hybrid_core._telemetry", is_package=True) == [
        (2, "hybrid_core._core.records.Engine"),
        (3, "hybrid_core._telemetry.bus"),
        (7, "hybrid_core.exceptions.HybridCoreError"),
        (13, "hybrid_core._core.util"),
    ]
