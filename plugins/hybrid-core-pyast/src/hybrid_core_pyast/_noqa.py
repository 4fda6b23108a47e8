"""``# noqa`` comments, read as flake8 and ruff read them.

``# noqa`` alone silences every problem on its line; ``# noqa: F401, UnusedImport``
only the problems whose rule code or code is listed (case-insensitive, separated by
commas or spaces). Only real comments count: the source is tokenized, so ``"# noqa"``
inside a string does nothing. A problem reported at a line inside a multi-line string
is silenced by the ``# noqa`` after the line where that string ends, where a comment
can be written.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator, Mapping

__all__ = ["ALL", "Directives", "may_have_noqa", "read_directives", "silences"]

# The directive without a code list (or with a colon and no code, as flake8 reads it).
ALL: frozenset[str] = frozenset({"*"})
Directives = Mapping[int, frozenset[str]]

_NOQA = re.compile(
    r"#\s*noqa(?![\w-])"  # any case, space after the hash optional; not "noqa-like"
    r"(?::[ \t]*(?P<codes>[A-Za-z][A-Za-z0-9]*(?:[,\s]+[A-Za-z][A-Za-z0-9]*)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def may_have_noqa(text: str) -> bool:
    """Whether ``text`` could hold a ``# noqa`` at all; cheap, so most files skip tokenizing."""
    return "noqa" in text or "noqa" in text.lower()


def read_directives(text: str) -> dict[int, frozenset[str]]:
    """Line number -> the casefolded codes its ``# noqa`` lists, or :data:`ALL`.

    Lines inside a multi-line string map to the directive of the line the string ends on.
    Source that does not tokenize to the end keeps the directives read before the fault.
    """
    found: dict[int, frozenset[str]] = {}
    strings: list[tuple[int, int]] = []
    fstring_starts: list[int] = []  # Python 3.12+ splits an f-string into tokens
    for token in _tokens(text):
        kind = token.type
        if kind == tokenize.COMMENT:
            codes = _codes(token.string)
            if codes is not None:
                found[token.start[0]] = _merge(found.get(token.start[0]), codes)
        elif kind == tokenize.STRING and token.start[0] != token.end[0]:
            strings.append((token.start[0], token.end[0]))
        elif kind == _FSTRING_START:
            fstring_starts.append(token.start[0])
        elif kind == _FSTRING_END and fstring_starts:
            strings.append((fstring_starts.pop(), token.end[0]))
    for first, last in strings:
        directive = found.get(last)
        if directive is not None:
            for line in range(first, last):
                found[line] = _merge(found.get(line), directive)
    return found


def silences(directives: Directives, line: int, code: str, rule: str | None) -> bool:
    """Whether the directive on ``line`` silences a problem with ``code`` and ``rule``."""
    directive = directives.get(line)
    if directive is None:
        return False
    if "*" in directive:
        return True
    return code.casefold() in directive or (rule is not None and rule.casefold() in directive)


def _codes(comment: str) -> frozenset[str] | None:
    """The codes of every ``# noqa`` in one comment, :data:`ALL`, or None for none."""
    result: frozenset[str] | None = None
    for match in _NOQA.finditer(comment):
        listed = match.group("codes")
        codes = ALL if listed is None else frozenset(c.casefold() for c in _CODE.findall(listed))
        result = _merge(result, codes)
    return result


def _merge(old: frozenset[str] | None, new: frozenset[str]) -> frozenset[str]:
    if old is None:
        return new
    if "*" in old or "*" in new:
        return ALL
    return old | new


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    try:
        yield from tokenize.generate_tokens(io.StringIO(text).readline)
    except (tokenize.TokenError, SyntaxError):
        # The tree parsed, so this is the pure-Python tokenizer of older interpreters
        # disagreeing with the parser; what was read so far still holds.
        return
