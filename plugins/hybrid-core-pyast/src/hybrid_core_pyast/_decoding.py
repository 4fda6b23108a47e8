"""Decoding a source file's bytes exactly as CPython does when it imports or compiles them.

PEP 263: a UTF-8 byte order mark, else an encoding declaration (``# -*- coding: latin-1
-*-``) on line 1, or on line 2 when line 1 is blank or only a comment, else UTF-8. These
are the rules of ``compile()`` on bytes, which ``importlib`` uses, including where they
differ from ``tokenize.detect_encoding``: line 1 need not be UTF-8 when line 2 declares
the encoding, and a declaration that conflicts with a BOM is refused with the
interpreter's message (``encoding problem: iso-8859-1 with BOM``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["BOM", "DecodeFailure", "decode_source"]

BOM = codecs.BOM_UTF8
_NEWLINE = re.compile(rb"\r\n|\r|\n")
# CPython's get_coding_spec: only whitespace before the '#', then the first "coding:" or
# "coding=" followed by a name of ASCII letters, digits, '-', '_' and '.'.
_DECLARATION = re.compile(rb"[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK_OR_COMMENT = re.compile(rb"[ \t\f]*(?:#|$)")


@dataclass(frozen=True)
class DecodeFailure:
    """Why the bytes are not Python source CPython would read; 1-based line and column."""

    message: str
    line: int | None
    column: int | None


def decode_source(data: bytes) -> str | DecodeFailure:
    """The text CPython reads from ``data`` (without the BOM), or why it refuses it.

    Columns count bytes after the BOM, as the rest of this distribution does.
    """
    bom = data.startswith(BOM)
    body = data[len(BOM) :] if bom else data
    declared = _declaration(body)
    if declared is None:
        return _decode(body, "utf-8", bom)
    name, line, column = declared
    if bom and name != "utf-8":
        return DecodeFailure(f"encoding problem: {name} with BOM", line, column)
    if name == "utf-8":
        return _decode(body, "utf-8", bom)
    try:
        codecs.lookup(name)
    except LookupError:
        return DecodeFailure(f"unknown encoding: {name}", line, column)
    return _decode(body, name, bom, declared_on=line)


def _declaration(body: bytes) -> tuple[str, int, int] | None:
    """(normalised name, line, column) of the encoding declaration, or None."""
    start = 0
    for number in (1, 2):
        end = _NEWLINE.search(body, start)
        line = body[start : end.start() if end else len(body)]
        match = _DECLARATION.match(line)
        if match:
            return _normal_name(match.group(1).decode("ascii")), number, match.start(1) + 1
        if end is None or not _BLANK_OR_COMMENT.match(line):
            return None  # line 2 counts only after a blank or comment-only line 1
        start = end.end()
    return None


def _normal_name(name: str) -> str:
    """CPython's get_normal_name: spellings of UTF-8 and Latin-1 made canonical."""
    head = name[:12].lower().replace("_", "-")
    if head == "utf-8" or head.startswith("utf-8-"):
        return "utf-8"
    latin = ("latin-1", "iso-8859-1", "iso-latin-1")
    if head in latin or head.startswith(tuple(f"{spelling}-" for spelling in latin)):
        return "iso-8859-1"
    return name


def _decode(
    body: bytes, encoding: str, bom: bool, *, declared_on: int | None = None
) -> str | DecodeFailure:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        return _failure(body, exc, len(BOM) if bom else 0, declared_on)
    except LookupError as exc:  # a codec that is not a text encoding, e.g. rot13
        return DecodeFailure(str(exc), declared_on, None)


def _failure(
    body: bytes, exc: UnicodeDecodeError, bom: int, declared_on: int | None
) -> DecodeFailure:
    """Where ``exc`` happened; its byte offset counts a skipped BOM."""
    start = exc.start
    line_start = max(body.rfind(b"\n", 0, start), body.rfind(b"\r", 0, start)) + 1
    line = len(_NEWLINE.findall(body, 0, line_start)) + 1
    what = "UTF-8" if declared_on is None else f"{exc.encoding} as declared on line {declared_on}"
    message = f"file is not valid {what} ({exc.reason} at byte {start + bom})"
    return DecodeFailure(message, line, start - line_start + 1)
