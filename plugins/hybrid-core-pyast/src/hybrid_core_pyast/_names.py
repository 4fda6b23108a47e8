"""Where a module reads and binds each name, forward references included, in one walk.

A name is read where it is loaded or deleted, and where it appears in a string forward
reference: a string annotation, the type given to ``cast()``, a ``bound=`` argument, or a
string inside a subscript other than ``Literal[...]`` (``Callable[["Node"], None]``).
Such strings are parsed as expressions; those that do not parse name nothing. A name is
bound by assignment targets, ``def``, ``class``, imports, ``global``/``nonlocal``,
``except ... as``, and capture patterns.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterable, Iterator

from ._scopes import FUNCTION_TYPES

__all__ = [
    "NameIndex",
    "Position",
    "alias_binding",
    "bound_names",
    "own_bindings",
    "start",
    "tail_name",
]

Position = tuple[int, int]
_Located = ast.stmt | ast.expr | ast.excepthandler | ast.pattern
_DEFINITIONS = (*FUNCTION_TYPES, ast.ClassDef, ast.Import, ast.ImportFrom)
_NO_OWNER = 0


class NameIndex:
    """Every read and binding of every name in a module, by position.

    ``read`` holds the names read anywhere (any scope). :meth:`touched_between` says
    whether a name is read or bound between two positions.
    """

    def __init__(self, nodes: Iterable[ast.AST]) -> None:
        """Index ``nodes``: every node of a module, as ``ast.walk`` gives them."""
        self.read: set[str] = set()
        # name -> sorted (line, column, owner): owner is the id() of the def, class or
        # import statement making the binding, so a statement can ignore its own.
        self._touches: dict[str, list[tuple[int, int, int]]] = {}
        references: dict[int, ast.Constant] = {}
        for node in nodes:
            self._index(node)
            for root in _reference_roots(node):
                references.update((id(c), c) for c in _reference_strings(root))
        for constant in references.values():
            for name in _names_in_string(str(constant.value)):
                self.read.add(name)
                self._touch(name, constant, _NO_OWNER)
        for touches in self._touches.values():
            touches.sort()

    def touched_between(
        self, name: str, after: Position, before: Position, *, ignore: ast.stmt
    ) -> bool:
        """Whether ``name`` is read or bound at a position in ``[after, before)``.

        Bindings made by the statement ``ignore`` itself do not count.
        """
        touches = self._touches.get(name, [])
        index = bisect.bisect_left(touches, (*after, -1))
        for line, column, owner in touches[index:]:
            if (line, column) >= before:
                return False
            if owner != id(ignore):
                return True
        return False

    def _index(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                self.read.add(node.id)
            self._touch(node.id, node, _NO_OWNER)
        elif isinstance(node, (ast.stmt, ast.excepthandler, ast.pattern)):
            owner = id(node) if isinstance(node, _DEFINITIONS) else _NO_OWNER
            for name in bound_names(node):
                self._touch(name, node, owner)

    def _touch(self, name: str, node: _Located, owner: int) -> None:
        self._touches.setdefault(name, []).append((node.lineno, node.col_offset, owner))


def start(node: _Located) -> Position:
    """Where ``node`` starts, as (line, column)."""
    return (node.lineno, node.col_offset)


def _reference_roots(node: ast.AST) -> list[ast.expr]:
    """The expressions under ``node`` whose strings name things: annotations and the like."""
    if isinstance(node, ast.arg):
        return [node.annotation] if node.annotation is not None else []
    if isinstance(node, FUNCTION_TYPES):
        return [node.returns] if node.returns is not None else []
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    if isinstance(node, ast.Subscript):
        return [] if _is_literal_form(node.value) else [node.slice]
    if isinstance(node, ast.Call):
        cast = tail_name(node.func) == "cast"
        bounds = [keyword.value for keyword in node.keywords if keyword.arg == "bound"]
        return [*node.args[:1], *bounds] if cast else bounds
    return []


def _reference_strings(root: ast.expr) -> Iterator[ast.Constant]:
    """The str constants in ``root``, leaving out the values inside ``Literal[...]``."""
    for node in _reference_nodes(root):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


def _reference_nodes(root: ast.expr) -> Iterator[ast.AST]:
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Subscript) and _is_literal_form(node.value):
            stack.append(node.value)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _names_in_string(text: str) -> set[str]:
    """Names in a string read as a Python expression, nested strings too."""
    names: set[str] = set()
    pending = [text]
    while pending:
        expression = _parse_reference(pending.pop())
        if expression is None:
            continue
        for node in _reference_nodes(expression):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                pending.append(node.value)
    return names


def _parse_reference(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_literal_form(node: ast.expr) -> bool:
    return tail_name(node) == "Literal"


def tail_name(node: ast.expr) -> str | None:
    """``name`` for ``name`` and for ``anything.name``; None for other expressions."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def alias_binding(alias: ast.alias) -> str:
    """The name an import binds: ``c`` for ``a.b as c``, ``a`` for ``import a.b``."""
    return alias.asname or alias.name.partition(".")[0]


def bound_names(node: ast.AST) -> list[str]:
    """The names ``node`` itself binds (not those of its children)."""
    if isinstance(node, ast.Name):
        return [node.id] if isinstance(node.ctx, ast.Store) else []
    if isinstance(node, (*FUNCTION_TYPES, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias_binding(alias) for alias in node.names if alias.name != "*"]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
        return [node.name] if node.name else []  # except E as name, case P as name, *name
    return []


def own_bindings(statement: ast.stmt) -> set[str]:
    """The names ``statement`` binds in its own scope, not in the statements it contains."""
    names: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        names.update(bound_names(node))
        stack.extend(child for child in ast.iter_child_nodes(node) if not _is_block(child))
    return names


def _is_block(node: ast.AST) -> bool:
    return isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case))
