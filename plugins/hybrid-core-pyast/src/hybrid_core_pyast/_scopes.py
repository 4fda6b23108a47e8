"""Walking the definitions of a module: every def and class, with its qualified name.

Qualified names follow Python's ``__qualname__``: ``Outer.method`` for a method and
``f.<locals>.g`` for a function defined inside ``f``. The walk is iterative, so deeply
nested blocks cannot exhaust the interpreter's recursion limit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ._results import SymbolKind

__all__ = ["FUNCTION_TYPES", "Definition", "FunctionNode", "block_children", "iter_definitions"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCK_TYPES = (ast.stmt, ast.excepthandler, ast.match_case)


@dataclass(frozen=True)
class Definition:
    """A def or class found in a module, with where it lives."""

    node: FunctionNode | ast.ClassDef
    qualname: str
    kind: SymbolKind
    is_public: bool


@dataclass(frozen=True)
class _Scope:
    prefix: str = ""
    in_class: bool = False
    public: bool = True

    def define(self, node: FunctionNode | ast.ClassDef) -> Definition:
        public = self.public and is_public_name(node.name)
        return Definition(node, self.prefix + node.name, self._kind(node), public)

    def enter(self, definition: Definition) -> _Scope:
        if isinstance(definition.node, ast.ClassDef):
            return _Scope(definition.qualname + ".", True, definition.is_public)
        # Whatever a function defines is local to it, hence never public.
        return _Scope(definition.qualname + ".<locals>.", False, False)

    def _kind(self, node: FunctionNode | ast.ClassDef) -> SymbolKind:
        if isinstance(node, ast.ClassDef):
            return "class"
        is_async = isinstance(node, ast.AsyncFunctionDef)
        if self.in_class:
            return "async method" if is_async else "method"
        return "async function" if is_async else "function"


def is_public_name(name: str) -> bool:
    """True unless ``name`` starts with an underscore; dunder names are public."""
    return not name.startswith("_") or (
        len(name) > 4 and name.startswith("__") and name.endswith("__")
    )


def block_children(node: ast.AST) -> Iterable[ast.AST]:
    """The statements, except handlers and match cases directly inside ``node``."""
    return (child for child in ast.iter_child_nodes(node) if isinstance(child, _BLOCK_TYPES))


def iter_definitions(tree: ast.Module) -> Iterator[Definition]:
    """Every def and class in ``tree``, in source order (outer before inner)."""
    stack: list[tuple[ast.AST, _Scope]] = [(node, _Scope()) for node in reversed(tree.body)]
    while stack:
        node, scope = stack.pop()
        if isinstance(node, (*FUNCTION_TYPES, ast.ClassDef)):
            definition = scope.define(node)
            yield definition
            inner = scope.enter(definition)
            stack.extend((child, inner) for child in reversed(node.body))
        else:
            stack.extend((child, scope) for child in reversed(list(block_children(node))))
