"""The ``python.lint`` analysis: six well-defined checks on the syntax tree alone.

Where pyflakes has the same check, the code is the name of pyflakes' message class, so
reports from a pyflakes-based engine can be compared with these:

- ``UnusedImport``: a name imported at module level that is read nowhere in the file, is
  not listed in ``__all__`` and is not re-exported as ``X as X``, reported at the last
  import that binds it unless later module-level code binds the name another way
  (pyflakes' "the last binding counts");
- ``RedefinedWhileUnused``: a def, class or import that rebinds a name an earlier def,
  class or import of the same block bound, with no use of the name in between;
- ``BareExcept``: ``except:`` without an exception type;
- ``MutableDefaultArgument``: a parameter whose default is a list, dict or set display or
  comprehension, or a call that builds a mutable container;
- ``IsLiteral``: ``is`` or ``is not`` with a str, bytes or number literal;
- ``FStringMissingPlaceholders``: an f-string without a single ``{placeholder}``.

A name counts as read wherever it is loaded or deleted, in any scope, and inside string
forward references (see ``_names``), so a name imported under ``if TYPE_CHECKING:`` and
used only in quoted annotations is not reported. The checks err towards silence: a name
read only where a local of the same name shadows it still counts as read, and a plain
``import a.b`` counts as used when the file also has ``import a as x``, through which
``x.b`` reaches the submodule it loads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from ._names import (
    NameIndex,
    Position,
    alias_binding,
    bound_names,
    own_bindings,
    start,
    tail_name,
)
from ._results import LintFinding
from ._scopes import FUNCTION_TYPES, block_children

__all__ = ["collect_problems", "exempt_imports"]

_Located = ast.stmt | ast.expr | ast.excepthandler
_DISPLAYS: dict[type[ast.AST], str] = {
    ast.List: "list",
    ast.ListComp: "list",
    ast.Dict: "dict",
    ast.DictComp: "dict",
    ast.Set: "set",
    ast.SetComp: "set",
}
_MUTABLE_BUILTINS = frozenset({"list", "dict", "set", "bytearray"})
_MUTABLE_COLLECTIONS = frozenset({"deque", "defaultdict", "OrderedDict", "Counter"})
_LITERAL_TYPES = (str, bytes, int, float, complex)  # type() tells bool apart from int
_BLOCK_FIELDS = ("body", "orelse", "finalbody")


def collect_problems(tree: ast.Module) -> list[LintFinding]:
    """Every problem the checks find in ``tree``, in no particular order."""
    nodes = list(ast.walk(tree))  # walked once; parents come before their children
    names = NameIndex(nodes)
    return [
        *_unused_imports(tree, nodes, names),
        *_redefinitions(nodes, names),
        *_expression_problems(nodes),
    ]


def _problem(node: _Located, code: str, message: str) -> LintFinding:
    return {"line": node.lineno, "column": node.col_offset + 1, "code": code, "message": message}


# UnusedImport


def _unused_imports(
    tree: ast.Module, nodes: list[ast.AST], names: NameIndex
) -> Iterator[LintFinding]:
    """Unused module-level imports, each reported at the last import binding the name."""
    statements = list(_module_statements(tree))
    used = names.read | _exported(statements)
    reached = _reached_submodules(nodes)
    last: dict[str, tuple[ast.stmt, str, bool] | None] = {}
    for statement in statements:
        imported = {name: (shown, again) for name, shown, again in _imported(statement)}
        for name in own_bindings(statement) - imported.keys():
            if name in last:
                last[name] = None  # rebound after its import: the import is not what stays
        last.update((name, (statement, *found)) for name, found in imported.items())
    for name, binding in last.items():
        if binding is None:
            continue
        statement, shown, reexported = binding
        if name not in used and shown not in reached and not reexported:
            yield _problem(statement, "UnusedImport", f"{shown!r} imported but unused")


def exempt_imports(tree: ast.Module) -> set[tuple[int, int, str]]:
    """The module-level imports never reported unused: re-exported or listed in ``__all__``.

    Each is (line, 1-based column, name as pyflakes shows it) of its import statement,
    the place and name of pyflakes' ``UnusedImport`` message about it.
    """
    statements = list(_module_statements(tree))
    exported = _exported(statements)
    return {
        (statement.lineno, statement.col_offset + 1, shown)
        for statement in statements
        for name, shown, reexported in _imported(statement)
        if reexported or name in exported
    }


def _reached_submodules(nodes: list[ast.AST]) -> set[str]:
    """``a.b`` for a plain ``import a.b`` when ``import a as x`` (or ``a.b as y``) exists.

    Such an import loads the submodule so that ``x.b`` works: it is used through ``x``.
    """
    aliases = [alias for node in nodes if isinstance(node, ast.Import) for alias in node.names]
    aliased = {alias.name for alias in aliases if alias.asname}
    reached: set[str] = set()
    for alias in aliases:
        parts = alias.name.split(".")
        prefixes = {".".join(parts[:end]) for end in range(1, len(parts))}
        if not alias.asname and prefixes & aliased:
            reached.add(alias.name)
    return reached


def _module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run at module level, in source order: not those of defs or classes."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
        if not isinstance(node, (*FUNCTION_TYPES, ast.ClassDef)):
            stack.extend(reversed(list(block_children(node))))


def _imported(statement: ast.stmt) -> Iterator[tuple[str, str, bool]]:
    """(bound name, name as pyflakes shows it, re-exported) per name an import binds.

    ``import a as a`` and ``from m import a as a`` re-export ``a``, the convention of
    PEP 484 stubs and typeshed; ``import a.b as b`` does not.
    """
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            shown = _shown(alias.name, alias.asname)
            yield alias_binding(alias), shown, alias.asname == alias.name
    elif isinstance(statement, ast.ImportFrom) and statement.module != "__future__":
        prefix = "." * statement.level + (f"{statement.module}." if statement.module else "")
        for alias in statement.names:
            if alias.name != "*":
                shown = _shown(prefix + alias.name, alias.asname)
                yield alias.asname or alias.name, shown, alias.asname == alias.name


def _shown(name: str, asname: str | None) -> str:
    """``name``, with `` as asname`` when that differs from its last part, as pyflakes has it."""
    return f"{name} as {asname}" if asname and name.rpartition(".")[2] != asname else name


def _exported(statements: Iterable[ast.stmt]) -> set[str]:
    """Every string in what module-level code assigns, adds or appends to ``__all__``."""
    names: set[str] = set()
    for statement in statements:
        for value in _all_values(statement):
            names.update(
                node.value
                for node in ast.walk(value)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
            )
    return names


def _all_values(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign) and any(_is_all(t) for t in statement.targets):
        return [statement.value]
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and _is_all(statement.target):
        return [statement.value] if statement.value is not None else []
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        if isinstance(func, ast.Attribute) and func.attr in ("extend", "append"):
            return list(statement.value.args) if _is_all(func.value) else []
    return []


def _is_all(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "__all__"


# RedefinedWhileUnused


def _redefinitions(nodes: list[ast.AST], names: NameIndex) -> Iterator[LintFinding]:
    for node in nodes:
        for field in _BLOCK_FIELDS:
            block = getattr(node, field, None)
            if isinstance(block, list):
                yield from _block_redefinitions(block, names)


def _block_redefinitions(block: list[ast.stmt], names: NameIndex) -> Iterator[LintFinding]:
    """Redefinitions among the statements of one block (one body or branch).

    The statements of a block follow each other in the source, so whatever lies between
    two of them by position is in the statements between them.
    """
    unused: dict[str, tuple[str, ast.stmt]] = {}  # key -> (the name it binds, where)
    for statement in block:
        for key, name in _definitions(statement):
            earlier = unused.get(key)
            if earlier is not None and not names.touched_between(
                name, _end(earlier[1]), _bound_at(statement), ignore=statement
            ):
                message = f"redefinition of unused {key!r} from line {earlier[1].lineno}"
                yield _problem(statement, "RedefinedWhileUnused", message)
            if _is_overload(statement):
                unused.pop(key, None)
            else:
                unused[key] = (name, statement)


def _end(statement: ast.stmt) -> Position:
    if statement.end_lineno is None or statement.end_col_offset is None:
        return start(statement)
    return (statement.end_lineno, statement.end_col_offset)


def _bound_at(statement: ast.stmt) -> Position:
    """Where the statement binds its names: what it reads before that may use the old ones.

    A def binds after its decorators, defaults and annotations (its body runs later); a
    class after its whole body has run; an import at once.
    """
    if isinstance(statement, FUNCTION_TYPES):
        return start(statement.body[0])
    if isinstance(statement, ast.ClassDef):
        return _end(statement)
    return start(statement)


def _definitions(statement: ast.stmt) -> list[tuple[str, str]]:
    """(key, bound name) per def, class or import binding; ``_`` is never a redefinition.

    A plain ``import a.b`` binds ``a`` but is keyed ``a.b``: it does not redefine ``a``.
    """
    if isinstance(statement, (*FUNCTION_TYPES, ast.ClassDef)):
        found = [(statement.name, statement.name)]
    elif isinstance(statement, ast.Import):
        found = [(alias.asname or alias.name, alias_binding(alias)) for alias in statement.names]
    elif isinstance(statement, ast.ImportFrom) and statement.module != "__future__":
        found = [(name, name) for name in bound_names(statement)]
    else:
        return []
    return [(key, name) for key, name in found if name != "_"]


def _is_overload(statement: ast.stmt) -> bool:
    return isinstance(statement, FUNCTION_TYPES) and any(
        tail_name(decorator) == "overload" for decorator in statement.decorator_list
    )


# BareExcept, MutableDefaultArgument, IsLiteral, FStringMissingPlaceholders


def _expression_problems(nodes: list[ast.AST]) -> Iterator[LintFinding]:
    format_specs: set[int] = set()
    # A node comes before its children: a format spec is known before it is seen.
    for node in nodes:
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            yield _problem(
                node,
                "BareExcept",
                "bare 'except:' also catches KeyboardInterrupt and SystemExit; "
                "name the exceptions to catch, e.g. 'except Exception:'",
            )
        elif isinstance(node, (*FUNCTION_TYPES, ast.Lambda)):
            yield from _mutable_defaults(node.args)
        elif isinstance(node, ast.Compare):
            yield from _is_literal(node)
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            format_specs.add(id(node.format_spec))
        elif isinstance(node, ast.JoinedStr) and _lacks_placeholders(node, format_specs):
            message = "f-string has no placeholders; drop the 'f' prefix"
            yield _problem(node, "FStringMissingPlaceholders", message)


def _lacks_placeholders(node: ast.JoinedStr, format_specs: set[int]) -> bool:
    """True for an f-string with no ``{...}``; a format spec (``>10`` in ``{x:>10}``) is not one."""
    if id(node) in format_specs:
        return False
    return not any(isinstance(value, ast.FormattedValue) for value in node.values)


def _mutable_defaults(args: ast.arguments) -> Iterator[LintFinding]:
    positional = [*args.posonlyargs, *args.args]
    with_default = positional[len(positional) - len(args.defaults) :]
    pairs = [
        *zip(with_default, args.defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    for arg, default in pairs:
        if default is None:
            continue
        kind = _mutable_kind(default)
        if kind is not None:
            yield _problem(
                default,
                "MutableDefaultArgument",
                f"argument {arg.arg!r} defaults to a mutable {kind}, created once and shared "
                "by every call; default to None and create it in the body",
            )


def _mutable_kind(node: ast.expr) -> str | None:
    """What mutable container ``node`` builds, or None."""
    kind = _DISPLAYS.get(type(node))
    if kind is not None or not isinstance(node, ast.Call):
        return kind
    func = node.func
    if isinstance(func, ast.Name) and func.id in _MUTABLE_BUILTINS | _MUTABLE_COLLECTIONS:
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "collections"
        and func.attr in _MUTABLE_COLLECTIONS
    ):
        return func.attr
    return None


def _is_literal(node: ast.Compare) -> Iterator[LintFinding]:
    left = node.left
    for op, right in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, (ast.Is, ast.IsNot)):
            kind = _literal_kind(left) or _literal_kind(right)
            if kind is not None:
                written, instead = ("is", "==") if isinstance(op, ast.Is) else ("is not", "!=")
                yield _problem(
                    node,
                    "IsLiteral",
                    f"{written!r} compares identity, not value; use {instead!r} to compare "
                    f"with the {kind} literal",
                )
        left = right


def _literal_kind(node: ast.expr) -> str | None:
    """``str``, ``bytes``, ``int``, ``float`` or ``complex`` for such a literal, else None.

    ``-1`` and ``+1.5`` are literals; ``True``, ``False``, ``None`` and ``...`` are not.
    """
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        kind = _literal_kind(node.operand) if isinstance(node.operand, ast.Constant) else None
        return kind if kind in ("int", "float", "complex") else None
    if isinstance(node, ast.Constant) and type(node.value) in _LITERAL_TYPES:
        return type(node.value).__name__
    return None
