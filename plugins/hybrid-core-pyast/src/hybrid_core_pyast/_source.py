"""Turning a payload into a parsed module: validation, reading, decoding, parsing.

Bad payloads raise ``hybrid_core.PayloadError`` (a ``TypeError`` and a ``ValueError``:
the caller must fix the call, so the router neither retries it nor holds it against the
engine); source
that cannot be decoded or parsed becomes an :class:`ErrorRecord` (a finding about the
code, not a failure of the engine).
"""

from __future__ import annotations

import ast
import errno
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from hybrid_core import PayloadError

from ._decoding import BOM, DecodeFailure, decode_source
from ._results import ErrorKind, ErrorRecord

__all__ = ["DEFAULT_PATH", "Parsed", "Unparsable", "count_lines", "load", "parse"]

DEFAULT_PATH = "<unknown>"
_NEWLINE = re.compile(r"\r\n|\r|\n")
_NEWLINE_BYTES = re.compile(rb"\r\n|\r|\n")
_KEYS = "'source', 'path' or 'tree'"
# A file given by ``path`` is read whole, and parsing takes about 180 times its size in
# memory; beyond this the engines refuse it rather than let one file exhaust a worker.
MAX_SOURCE_BYTES = 8 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Parsed:
    """A payload whose code parsed: where it came from, its tree and its line count.

    ``lines`` counts the source's lines (for a ``tree`` given without ``source``, the
    last line its statements reach). ``module`` is the payload's dotted module name.
    ``text`` is the decoded source, None for a ``tree`` given without ``source``.
    """

    path: str
    lines: int
    tree: ast.Module
    module: str | None = None
    text: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Unparsable:
    """A payload whose code could not be decoded or parsed, and why."""

    path: str
    lines: int
    error: ErrorRecord
    module: str | None = None


def parse(source: str, path: str = DEFAULT_PATH) -> ast.Module | ErrorRecord:
    """Parse ``source`` with the running interpreter's grammar.

    Returns the ``ast.Module``, or an :class:`ErrorRecord` (a dict) when the source does
    not parse; ``path`` appears in the record's message. Raises ``TypeError`` only when
    ``source`` or ``path`` is not a str.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str of Python code, not {type(source).__name__}")
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    nul = source.find("\0")
    if nul >= 0:
        line, column = _position(source, nul)
        return error_record("syntax", "source contains a null byte", path, line, column)
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as exc:
        return error_record("syntax", exc.msg, path, exc.lineno, exc.offset)
    except UnicodeEncodeError as exc:
        line, column = _position(source, exc.start)
        return error_record(
            "encoding", f"source is not encodable ({exc.reason})", path, line, column
        )
    except (RecursionError, MemoryError):
        # CPython's parser signals nesting deeper than its stack with these, not SyntaxError.
        return error_record("syntax", "source is nested too deeply to parse", path, None, None)


def error_record(
    kind: ErrorKind, message: str, path: str, line: int | None, column: int | None
) -> ErrorRecord:
    """An error record whose message starts with ``path:line:column:`` as compilers do."""
    where = ":".join(str(part) for part in (path, line, column) if part is not None)
    return {"kind": kind, "message": f"{where}: {message}", "line": line, "column": column}


def count_lines(text: str) -> int:
    """The number of lines in ``text``, counting a last line without a newline."""
    ends = len(_NEWLINE.findall(text))
    return ends + (1 if text and text[-1] not in "\r\n" else 0)


def load(payload: object, owner: str = "pyast") -> Parsed | Unparsable:
    """Check ``payload`` and parse its code, reading the file if needed.

    Raises ``hybrid_core.PayloadError`` for a malformed payload, its message starting with
    ``"<owner> payload"``, and ``OSError`` when a ``path`` to read cannot be read.
    """
    if isinstance(payload, (str, bytes)) or not isinstance(payload, Mapping):
        raise PayloadError(
            f"{owner} payload must be a mapping with {_KEYS}, e.g. {{'source': 'x = 1'}}, "
            f"not {type(payload).__name__}"
        )
    path = _path(payload, owner)
    source = _optional(payload, "source", str, "a str of Python code; decode bytes first", owner)
    tree = _optional(payload, "tree", ast.Module, "an ast.Module returned by ast.parse()", owner)
    module = _module(payload, owner)
    if tree is not None:
        lines = count_lines(source) if source is not None else _last_line(tree)
        return Parsed(path or DEFAULT_PATH, lines, tree, module, source)
    if source is not None:
        return _parsed(source, path or DEFAULT_PATH, module)
    if path is None:
        raise PayloadError(
            f"{owner} payload has none of {_KEYS}; give the code as 'source', a file to read "
            "as 'path', or an ast.Module from ast.parse() as 'tree'"
        )
    return _read_cached(path, module)


# Parse once, analyse many times: the engines of one file (complexity, lint, symbols,
# imports) are sent to the same worker process (affinity on "path"), which runs them one
# after another, and each reads the file through this cache. The key holds the file's
# mtime and size, so an edited file is read again. The cache is small on purpose: every
# tree it holds is traversed by each full garbage collection and keeps memory the next
# parse could have reused; two entries measured a tenth less worker CPU than 32 on the
# standard library, with the same single parse per file.
_CACHE: OrderedDict[tuple[str, int, int, str | None], Parsed | Unparsable] = OrderedDict()
_CACHE_SIZE = 2
_CACHE_LOCK = threading.Lock()


def _read_cached(path: str, module: str | None) -> Parsed | Unparsable:
    try:
        stat = os.stat(path)
    except OSError:
        return _read(path, module)  # raises the OSError with its usual message
    key = (path, stat.st_mtime_ns, stat.st_size, module)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    parsed = _read(path, module)
    with _CACHE_LOCK:
        _CACHE[key] = parsed
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return parsed


def _optional(
    payload: Mapping[object, object], key: str, kind: type[T], hint: str, owner: str
) -> T | None:
    """``payload[key]`` if it is a ``kind`` or missing (None); any other value raises."""
    value = payload.get(key)
    if value is not None and not isinstance(value, kind):
        raise PayloadError(
            f"{owner} payload key {key!r} must be {hint}, not {type(value).__name__}"
        )
    return value


def _path(payload: Mapping[object, object], owner: str) -> str | None:
    """The payload's ``path`` as a str, or None when missing."""
    value = payload.get("path")
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise PayloadError(
            f"{owner} payload key 'path' must be a non-empty str (or os.PathLike) naming the "
            f"file, not {value!r}"
        )
    return value


def _module(payload: Mapping[object, object], owner: str) -> str | None:
    """The payload's dotted ``module`` name, or None when missing."""
    value = payload.get("module")
    if value is None:
        return None
    if not isinstance(value, str) or not all(p.isidentifier() for p in value.split(".")):
        raise PayloadError(
            f"{owner} payload key 'module' must be the file's dotted module name, "
            f"e.g. 'pkg.sub.mod', not {value!r}"
        )
    return value


def _parsed(text: str, path: str, module: str | None) -> Parsed | Unparsable:
    result = parse(text, path)
    lines = count_lines(text)
    if isinstance(result, ast.Module):
        return Parsed(path, lines, result, module, text)
    return Unparsable(path, lines, result, module)


def _read(path: str, module: str | None) -> Parsed | Unparsable:
    """Read, decode and parse the file at ``path``; an unreadable file raises OSError.

    The bytes are decoded as CPython decodes a source file (see ``_decoding``).

    Only a regular file is read: a FIFO, a device or a socket (or a symlink to one, such
    as ``/dev/zero``) raises OSError instead of blocking or reading forever, and so does a
    file over :data:`MAX_SOURCE_BYTES`.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for a file.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    with open(os.open(path, flags), "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or socket)", path)
        data = file.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_SOURCE_BYTES} bytes, not read", path)
    text = decode_source(data)
    if isinstance(text, DecodeFailure):
        error = error_record("encoding", text.message, path, text.line, text.column)
        return Unparsable(path, _count_byte_lines(data.removeprefix(BOM)), error, module)
    return _parsed(text, path, module)


def _count_byte_lines(data: bytes) -> int:
    ends = len(_NEWLINE_BYTES.findall(data))
    return ends + (1 if data and data[-1:] not in (b"\r", b"\n") else 0)


def _position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[index]``."""
    line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return len(_NEWLINE.findall(text, 0, line_start)) + 1, index - line_start + 1


def _last_line(tree: ast.Module) -> int:
    """The last line the module's statements reach; 0 for an empty module."""
    if not tree.body:
        return 0
    last = tree.body[-1]
    return last.end_lineno if last.end_lineno is not None else last.lineno
