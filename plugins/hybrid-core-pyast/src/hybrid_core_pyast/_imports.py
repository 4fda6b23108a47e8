"""The ``python.imports`` analysis: every import statement, resolved where possible."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ._results import ImportRecord
from ._scopes import FUNCTION_TYPES, block_children

__all__ = ["collect_imports", "package_of"]


@dataclass(frozen=True)
class _Where:
    type_checking: bool = False
    deferred: bool = False


def collect_imports(tree: ast.Module, package: str | None) -> list[ImportRecord]:
    """One record per imported module in ``tree``, in source order.

    ``package`` is the package relative imports are resolved against (``__package__``
    of the file); with None, relative imports keep their leading dots.
    """
    records: list[ImportRecord] = []
    for node, where in _walk(tree):
        if isinstance(node, ast.Import):
            records.extend(_record(alias.name, [], node, 0, where) for alias in node.names)
        else:
            names = [alias.name for alias in node.names]
            module = _absolute(node.module, node.level, package)
            records.append(_record(module, names, node, node.level, where))
    return records


def package_of(module: str, path: str) -> str:
    """The package a module's relative imports start from: itself for ``__init__`` files."""
    if path.replace("\\", "/").rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi"):
        return module
    return module.rpartition(".")[0]


def _walk(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, _Where]]:
    stack: list[tuple[ast.AST, _Where]] = [(node, _Where()) for node in reversed(tree.body)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, where
        elif isinstance(node, FUNCTION_TYPES):
            inner = replace(where, deferred=True)
            stack.extend((child, inner) for child in reversed(node.body))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            guarded = replace(where, type_checking=True)
            stack.extend((child, where) for child in reversed(node.orelse))
            stack.extend((child, guarded) for child in reversed(node.body))
        else:
            stack.extend((child, where) for child in reversed(list(block_children(node))))


def _is_type_checking(test: ast.expr) -> bool:
    """True for ``TYPE_CHECKING`` and ``<anything>.TYPE_CHECKING``."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _absolute(module: str | None, level: int, package: str | None) -> str:
    """``module`` made absolute against ``package``, or kept relative (with dots)."""
    relative = "." * level + (module or "")
    if level == 0 or package is None:
        return relative
    parts = package.split(".") if package else []
    if level - 1 >= len(parts):
        # Beyond the top-level package: Python would refuse it, so keep what was written.
        return relative
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _record(
    module: str, names: list[str], node: ast.stmt, level: int, where: _Where
) -> ImportRecord:
    return {
        "module": module,
        "names": names,
        "line": node.lineno,
        "level": level,
        "type_checking": where.type_checking,
        "deferred": where.deferred,
    }
