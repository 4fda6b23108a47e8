"""Finding the Python files of a tree, with include and exclude globs."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hybrid_core import PayloadError

__all__ = ["DEFAULT_EXCLUDE", "DEFAULT_INCLUDE", "discover", "module_name"]

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".*", "__pycache__", "build", "dist", "*.egg-info", "node_modules", "venv")


def _patterns(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PayloadError(f"{what} must be a glob or a list of globs, e.g. ['tests/*'], not {value!r}")


def _matches(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def module_name(rel: str) -> str | None:
    """The dotted module a file defines, from its path relative to the tree's root.

    None when the path is not importable as a module (``my-script.py``, ``3rd/x.py``).
    """
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def discover(
    root: str,
    include: Sequence[str] | str = DEFAULT_INCLUDE,
    exclude: Sequence[str] | str = DEFAULT_EXCLUDE,
) -> list[dict[str, str | None]]:
    """The Python files under ``root`` (or ``root`` itself), sorted by relative path.

    A pattern matches a file's path relative to ``root`` (``pkg/sub/*.py``) or its bare
    name; an excluded directory is not entered. Each file is ``{"path", "relpath",
    "module"}``; ``module`` is its dotted name, assuming ``root`` is on ``sys.path`` (None
    for a file no import statement could name).
    """
    if not isinstance(root, (str, os.PathLike)):
        raise PayloadError(f"root must be a path, not {type(root).__name__}")
    base = Path(root)
    if not base.exists():
        raise PayloadError(f"root {str(root)!r} does not exist; give a directory or a .py file")
    inc, exc = _patterns(include, "include"), _patterns(exclude, "exclude")
    if base.is_file():
        return [
            {"path": str(base.resolve()), "relpath": base.name, "module": module_name(base.name)}
        ]
    found = []
    for folder, dirs, files in os.walk(base):
        rel_folder = os.path.relpath(folder, base).replace(os.sep, "/")
        prefix = "" if rel_folder == "." else f"{rel_folder}/"
        dirs[:] = sorted(d for d in dirs if not _matches(prefix + d, d, exc))
        for name in files:
            rel = prefix + name
            if _matches(rel, name, inc) and not _matches(rel, name, exc):
                path = str((Path(folder) / name).resolve())
                found.append({"path": path, "relpath": rel, "module": module_name(rel)})
    return sorted(found, key=lambda f: f["relpath"])
