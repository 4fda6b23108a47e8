"""The ``python.symbols`` analysis: every function, method and class of a module."""

from __future__ import annotations

import ast

from ._results import Symbol
from ._scopes import Definition, iter_definitions

__all__ = ["collect_symbols"]


def collect_symbols(tree: ast.Module) -> list[Symbol]:
    """One :class:`Symbol` per def and class in ``tree``, in source order."""
    return [_symbol(definition) for definition in iter_definitions(tree)]


def _symbol(definition: Definition) -> Symbol:
    node = definition.node
    arguments = [] if isinstance(node, ast.ClassDef) else argument_names(node.args)
    return {
        "qualname": definition.qualname,
        "name": node.name,
        "kind": definition.kind,
        "lineno": node.lineno,
        "end_lineno": node.end_lineno if node.end_lineno is not None else node.lineno,
        "arguments": arguments,
        "decorators": [ast.unparse(decorator) for decorator in node.decorator_list],
        "has_docstring": ast.get_docstring(node, clean=False) is not None,
        "is_public": definition.is_public,
    }


def argument_names(args: ast.arguments) -> list[str]:
    """Parameter names in order, with ``*`` and ``**`` before the variadic ones."""
    names = [arg.arg for arg in (*args.posonlyargs, *args.args)]
    if args.vararg is not None:
        names.append("*" + args.vararg.arg)
    names.extend(arg.arg for arg in args.kwonlyargs)
    if args.kwarg is not None:
        names.append("**" + args.kwarg.arg)
    return names
