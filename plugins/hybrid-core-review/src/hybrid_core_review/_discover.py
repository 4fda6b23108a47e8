"""Finding the Python files of a tree, with include and exclude globs.

Discovery reads only what the engines can safely read: regular files no larger than
``max_file_bytes``. It never opens a FIFO, a device or a socket (each is checked with
``lstat``/``stat`` first), never follows a symlink to a folder, and never raises for an
odd entry of the tree: each one becomes a *skipped* finding with its kind and reason. Only
a bad root is an error, since then nothing can be reviewed.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from typing import Any

from hybrid_core import PayloadError

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "DEFAULT_MAX_FILE_BYTES",
    "discover",
    "display_path",
    "module_name",
    "package_of_folder",
]

DEFAULT_INCLUDE = ("*.py",)
DEFAULT_EXCLUDE = (".*", "__pycache__", "build", "dist", "*.egg-info", "node_modules", "venv")
# Python source stays well below this (the standard library's largest file, the generated
# pydoc_data/topics.py, is 740 KiB), while parsing costs a worker roughly 150-200 times a
# file's size in memory: 2 MiB keeps a worker's peak near 400 MB where a 20 MB file took
# 3.6 GB.
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024

_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _patterns(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PayloadError(f"{what} must be a glob or a list of globs, e.g. ['tests/*'], not {value!r}")


def _matches(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def module_name(rel: str, package: str = "") -> str | None:
    """The dotted module a file defines, from its path relative to the tree's root.

    ``package`` is the dotted package the root folder itself is (see
    :func:`package_of_folder`), empty when the root is not inside a package. None when
    the path is not importable as a module (``my-script.py``, ``3rd/x.py``).
    """
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
    if package:
        parts = [*package.split("."), *parts]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def package_of_folder(folder: str) -> str:
    """The dotted package ``folder`` is: its name and those of the folders above it.

    A folder is a package when it holds ``__init__.py``; the walk goes up while it
    does (and the name is an identifier), so ``.../click/click`` is ``click`` and its
    relative imports resolve. Empty when ``folder`` is not a package. Namespace packages
    (no ``__init__.py``) cannot be told from plain folders and are not walked up.
    """
    names: list[str] = []
    here = os.path.abspath(folder)
    while os.path.isfile(os.path.join(here, "__init__.py")):
        name = os.path.basename(here)
        if not name.isidentifier():
            break
        names.append(name)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    return ".".join(reversed(names))


def display_path(path: str) -> str:
    """``path`` as text that any writer can encode: undecodable bytes become ``\\xff``.

    File names are bytes on POSIX; Python hands the ones that are not UTF-8 over with
    lone surrogates, which no UTF-8 writer accepts.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def _kind(mode: int) -> str | None:
    """What a special file is (``"a FIFO (named pipe)"``, ...), or None for another kind."""
    return next((what for test, what in _SPECIAL if test(mode)), None)


def _size_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PayloadError(
            f"input 'max_file_bytes' must be a whole number of bytes >= 1, e.g. "
            f"max_file_bytes:={DEFAULT_MAX_FILE_BYTES}, not {value!r}"
        )
    return value


def _root(root: Any) -> tuple[str, os.stat_result]:
    """The root as a str path and its ``stat``; raise PayloadError for a bad root."""
    if isinstance(root, os.PathLike):
        root = os.fspath(root)
    if not isinstance(root, str) or not root:
        raise PayloadError(
            f"input 'path' must name a folder or a .py file to review, e.g. path=src, not {root!r}"
        )
    try:
        info = os.stat(root)
    except OSError as exc:
        reason = (
            "does not exist" if exc.errno == errno.ENOENT else f"cannot be read ({exc.strerror})"
        )
        raise PayloadError(
            f"input 'path' {display_path(root)!r} {reason}; give a folder or a .py file"
        ) from None
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        what = _kind(info.st_mode) or "not a regular file"
        raise PayloadError(
            f"input 'path' {display_path(root)!r} is {what}; give a folder or a .py file"
        )
    return root, info


def discover(
    root: str,
    include: Sequence[str] | str = DEFAULT_INCLUDE,
    exclude: Sequence[str] | str = DEFAULT_EXCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> dict[str, list[dict[str, Any]]]:
    """The Python files under ``root`` (or ``root`` itself), and what was skipped.

    Returns ``{"files": [...], "skipped": [...]}``, each sorted by relative path. A
    pattern matches a file's path relative to ``root`` (``pkg/sub/*.py``) or its bare
    name; an excluded folder is not entered. Each file is ``{"path", "relpath",
    "module"}``; ``module`` is its dotted name (None for a file no import statement
    could name), assuming ``root`` is on ``sys.path`` or, when ``root`` (or the folder
    of a ``root`` file) is inside a package, that the folder above its top-level
    package is (:func:`package_of_folder`). Each skipped entry is ``{"path",
    "kind", "reason"}``, its path made printable with :func:`display_path`.

    Raises PayloadError when ``root`` is missing, empty, unreadable, or neither a folder
    nor a regular file matching ``include``.
    """
    inc, exc = _patterns(include, "include"), _patterns(exclude, "exclude")
    limit = _size_limit(max_file_bytes)
    base, info = _root(root)
    is_file = stat.S_ISREG(info.st_mode)
    folder = os.path.dirname(os.path.abspath(base)) if is_file else base
    walk = _Walk(inc, exc, limit, package_of_folder(folder))
    if is_file:
        name = os.path.basename(base)
        if not _matches(name, name, inc):
            raise PayloadError(
                f"input 'path' {display_path(base)!r} is a file the include globs "
                f"{list(inc)!r} do not match; give a folder or a .py file"
            )
        walk.file(os.path.abspath(base), name, name, info)
    else:
        try:
            walk.folder(os.path.abspath(base), "", check_root=True)
        except PermissionError as exc:
            raise PayloadError(
                f"input 'path' {display_path(base)!r} cannot be read ({exc.strerror}); "
                "give a folder you may list"
            ) from None
    return {
        "files": sorted(walk.files, key=lambda f: f["relpath"]),
        "skipped": sorted(walk.skipped, key=lambda s: s["path"]),
    }


class _Walk:
    """One walk of a tree, collecting the files to review and the entries skipped."""

    def __init__(
        self, include: Sequence[str], exclude: Sequence[str], limit: int, package: str
    ) -> None:
        self.include, self.exclude, self.limit = include, exclude, limit
        self.package = package
        self.files: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []

    def skip(self, rel: str, kind: str, reason: str) -> None:
        self.skipped.append({"path": display_path(rel), "kind": kind, "reason": reason})

    def folder(self, path: str, prefix: str, *, check_root: bool = False) -> None:
        """Walk one folder iteratively (a deep tree must not exhaust the stack)."""
        pending = [(path, prefix)]
        while pending:
            folder, rel_folder = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as error:
                if check_root and folder == path:
                    raise
                self.skip(rel_folder.rstrip("/"), "unreadable", _unreadable(error, "folder"))
                continue
            for entry in entries:
                sub = self.entry(entry, rel_folder)
                if sub is not None:
                    pending.append(sub)

    def entry(self, entry: os.DirEntry[str], prefix: str) -> tuple[str, str] | None:
        """Classify one entry; return a folder to enter as ``(path, prefix)``."""
        rel, name = prefix + entry.name, entry.name
        if _matches(rel, name, self.exclude):
            return None
        try:
            own = entry.stat(follow_symlinks=False)
        except OSError as error:
            self.skip(rel, "unreadable", _unreadable(error, "entry"))
            return None
        if stat.S_ISDIR(own.st_mode):
            if display_path(name) != name:
                self.skip(rel, "undecodable-name", "the folder's name is not valid UTF-8")
                return None
            return entry.path, rel + "/"
        if stat.S_ISLNK(own.st_mode):
            self.symlink(entry, rel, name)
        elif _matches(rel, name, self.include):
            self.file(entry.path, rel, name, own)
        return None

    def symlink(self, entry: os.DirEntry[str], rel: str, name: str) -> None:
        try:
            target = os.stat(entry.path)
        except OSError as error:
            if _matches(rel, name, self.include) or error.errno == errno.ELOOP:
                kind, reason = _broken(error)
                self.skip(rel, kind, reason)
            return
        if stat.S_ISDIR(target.st_mode):
            self.skip(rel, "symlink-folder", "a symlink to a folder; folders are not followed")
        elif _matches(rel, name, self.include):
            self.file(entry.path, rel, name, target)

    def file(self, path: str, rel: str, name: str, info: os.stat_result) -> None:
        """Add a file to review, or skip it saying why; ``info`` is its (followed) stat."""
        if display_path(name) != name:
            self.skip(rel, "undecodable-name", "the file's name is not valid UTF-8")
        elif not stat.S_ISREG(info.st_mode):
            what = _kind(info.st_mode) or "not a regular file"
            self.skip(rel, "special-file", f"{what}; only regular files are read")
        elif info.st_size > self.limit:
            self.skip(
                rel,
                "too-large",
                f"{info.st_size} bytes, over the limit of {self.limit} (input max_file_bytes)",
            )
        elif (problem := _readable(path)) is not None:
            self.skip(rel, "unreadable", problem)
        else:
            module = module_name(rel, self.package)
            self.files.append({"path": path, "relpath": rel, "module": module})


def _readable(path: str) -> str | None:
    """None when the regular file at ``path`` opens for reading, else why not.

    O_NONBLOCK: should the file have been swapped for a FIFO since its stat, the open
    returns at once instead of waiting for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        return _unreadable(error, "file")
    os.close(fd)
    return None


def _unreadable(error: OSError, what: str) -> str:
    return f"the {what} cannot be read ({error.strerror or error})"


def _broken(error: OSError) -> tuple[str, str]:
    if error.errno == errno.ELOOP:
        return "symlink-loop", "a symlink that leads back to itself (a loop)"
    if error.errno == errno.ENOENT:
        return "broken-symlink", "a symlink to nothing (its target does not exist)"
    return "unreadable", f"a symlink whose target cannot be read ({error.strerror or error})"
