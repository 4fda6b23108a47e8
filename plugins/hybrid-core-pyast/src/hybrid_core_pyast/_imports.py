"""The ``python.imports`` analysis: every import statement, resolved where possible.

Each record also says where the statement sits, so a consumer can tell the imports that
run when the module is imported (``import_time``) from those that run later or never.
"""

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
    main_guard: bool = False
    in_class: bool = False


def collect_imports(tree: ast.Module, package: str | None) -> list[ImportRecord]:
    """One record per imported module in ``tree``, in source order.

    ``package`` is the package relative imports are resolved against (``__package__``
    of the file); with None, relative imports keep their leading dots.
    """
    records: list[ImportRecord] = []
    for node, where in _walk(tree):
        if isinstance(node, ast.Import):
            records.extend(_record(alias.name, [], alias.lineno, 0, where) for alias in node.names)
        else:
            module = _absolute(node.module, node.level, package)
            records.append(_record(module, node.names, node.lineno, node.level, where))
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
        elif isinstance(node, ast.ClassDef):
            inner = replace(where, in_class=True)
            stack.extend((child, inner) for child in reversed(node.body))
        elif isinstance(node, ast.If) and (guard := _guard(node.test)) is not None:
            flag, negated = guard
            guarded = replace(where, **{flag: True})
            body, orelse = (where, guarded) if negated else (guarded, where)
            stack.extend((child, orelse) for child in reversed(node.orelse))
            stack.extend((child, body) for child in reversed(node.body))
        else:
            stack.extend((child, where) for child in reversed(list(block_children(node))))


def _guard(test: ast.expr) -> tuple[str, bool] | None:
    """Which flag an ``if`` test sets on its body, and whether it is negated (``else``).

    ``TYPE_CHECKING`` is false when the code runs; ``__name__ == "__main__"`` is false
    when the module is imported. ``not`` and ``!=`` move the guarded code to ``else``.
    """
    negated = False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, negated = test.operand, True
    if _is_type_checking(test):
        return "type_checking", negated
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        sides = {_name_or_text(test.left), _name_or_text(test.comparators[0])}
        if sides == {"name:__name__", "text:__main__"}:
            if isinstance(test.ops[0], ast.Eq):
                return "main_guard", negated
            if isinstance(test.ops[0], ast.NotEq):
                return "main_guard", not negated
    return None


def _name_or_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return f"name:{node.id}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"text:{node.value}"
    return None


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
    module: str, names: list[ast.alias], line: int, level: int, where: _Where
) -> ImportRecord:
    return {
        "module": module,
        "names": [alias.name for alias in names],
        "lines": [alias.lineno for alias in names],
        "line": line,
        "level": level,
        "type_checking": where.type_checking,
        "deferred": where.deferred,
        "main_guard": where.main_guard,
        "in_class": where.in_class,
        "import_time": not (where.type_checking or where.deferred or where.main_guard),
    }
