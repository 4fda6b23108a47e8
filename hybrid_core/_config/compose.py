"""Configuration composition: ``extends``, profiles, ``${VAR}``, and where each value came from.

A document is a TOML file (in a ``pyproject.toml`` only ``[tool.hybrid]``) or a host's
mapping. ``extends = ["base.toml"]`` names files to build on, relative to the file that
names them; tables are deep-merged, lists and other values replaced, and later wins: the
extending file over what it extends, a later extended file over an earlier one. Each file
is applied once, after everything it extends, so in a diamond (two files extending one
base) the base cannot undo what the first of them set. A chosen ``[profile.NAME]`` table
from every file is then merged over the result, and ``${VAR}`` / ``${VAR:-default}`` in
string values are read from the environment (``$${`` writes a literal ``${``). Only
values that survive merging are interpolated, so a variable a profile overrides, or one
in an unchosen profile, need not be set. Every problem is collected and raised at once as
a ConfigError; nothing is checked against the schema here (``config_from_mapping`` does).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .._core.util import close_matches
from ..exceptions import ConfigError, ConfigProblem

__all__ = ["Composed", "Origin", "compose_file", "compose_mapping", "join_key", "kind_of"]

_MAX_DEPTH = 50  # far beyond any real configuration; keeps recursion (and cyclic mappings) safe
_RESERVED = ("extends", "profile")
_UNOPENED: dict[type[Exception], str] = {
    FileNotFoundError: "is not found",
    IsADirectoryError: "is a directory",
}
_MAIN_FILE_FIXES = {
    "is not found": "file not found; check the path given to --config",
    "is a directory": "is a directory; give the path of a TOML file",
}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<end>\})?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {char: "\\" + code for char, code in zip('"\\\b\t\n\f\r', '"\\btnfr', strict=True)}


@attrs.frozen
class Origin:
    """Where a value was set: the file (or mapping source name) and the key path in it."""

    file: str
    key: str

    def __str__(self) -> str:
        return f"{self.file}:{self.key}"


@attrs.frozen
class Composed:
    """A merged document and the origin of each of its tables and values.

    ``data`` has no ``extends`` or ``profile`` keys, its variables are interpolated and the
    chosen profile is applied; ``origins`` maps each dotted key path of ``data`` (see
    :func:`join_key`) to where it was set; for a table that is the last file to set a key
    in it. ``files`` lists every file read, in the order read.
    """

    data: dict[str, Any]
    origins: Mapping[str, Origin]
    files: tuple[str, ...]
    profiles: tuple[str, ...]
    source: str
    profile: str | None = None

    def origin(self, key: str) -> Origin | None:
        """Where ``key`` was set, or else its nearest ancestor table; None if neither was."""
        found = self._nearest(key)
        return found[1] if found else None

    def items(self) -> Iterator[tuple[str, Any, Origin]]:
        """Every leaf value as ``(key path, value, origin)``, in document order."""
        return _leaves(self.data, "", self.origins)

    def relocate(self, problems: Iterable[ConfigProblem]) -> tuple[ConfigProblem, ...]:
        """Point problems found in ``data`` at the file and key that set the value.

        Problems about ``source`` whose key (or an ancestor) has an origin are rewritten,
        e.g. ``hybrid.toml: routing.retries`` to ``base.toml: profile.ci.routing.retries``;
        the rest are returned as they are.
        """
        return tuple(self._relocate(p) for p in problems)

    def _relocate(self, problem: ConfigProblem) -> ConfigProblem:
        found = self._nearest(problem.key) if problem.file == self.source else None
        if not problem.key or found is None:
            return problem
        prefix, origin = found
        return ConfigProblem(origin.file, origin.key + problem.key[len(prefix) :], problem.message)

    def _nearest(self, key: str) -> tuple[str, Origin] | None:
        for candidate in _ancestors(key):
            if candidate in self.origins:
                return candidate, self.origins[candidate]
        return None


def compose_file(
    path: str | os.PathLike[str],
    *,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Composed:
    """Read a config file and everything it extends, apply ``profile``, interpolate ``env``.

    ``env`` defaults to ``os.environ``. Raises ConfigError listing every problem found.
    """
    composer = _Composer(os.environ if env is None else env)
    main = Path(path)
    composer.add_file(main, None)
    return composer.finish(str(main), profile)


def compose_mapping(
    data: Mapping[str, Any],
    *,
    source: str = "<mapping>",
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Composed:
    """Compose a host's mapping as if it were a file named ``source``.

    Its ``extends`` resolve relative to ``base_dir`` (default: the working directory).
    ``data`` itself is never modified. Raises ConfigError listing every problem found.
    """
    composer = _Composer(os.environ if env is None else env)
    if isinstance(data, Mapping):
        composer.add_document(data, source, (), base_dir or Path())
    else:
        composer.problem(source, "", f"a configuration must be a table, not {kind_of(data)}")
    return composer.finish(source, profile)


def join_key(parts: Iterable[str]) -> str:
    """A dotted key path, each key quoted as TOML would need: ``a."b.c".d``."""
    return ".".join(map(_quote, parts))


def _quote(key: str) -> str:
    if _BARE_KEY.fullmatch(key):
        return key
    return '"' + "".join(map(_escape, key)) + '"'


def _escape(char: str) -> str:
    # TOML's basic-string escapes; anything else unprintable as a code point, so that a
    # key path always stays on one line.
    if char in _ESCAPES or char.isprintable():
        return _ESCAPES.get(char, char)
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _ancestors(key: str) -> list[str]:
    # Cut before each "." or "[" outside quotes: the key, then its ancestors, nearest first.
    cuts, quote, escaped = [], "", False
    for i, char in enumerate(key):
        if escaped:
            escaped = False
        elif quote:
            escaped = char == "\\" and quote == '"'
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in ".[" and i:
            cuts.append(i)
    return [key, *(key[:i] for i in reversed(cuts))]


@attrs.define
class _Layer:
    """One document's share of the result, with the key path the document has in its file."""

    file: str
    prefix: tuple[str, ...]
    body: Mapping[str, Any]
    profiles: Mapping[str, Mapping[str, Any]]


class _Composer:
    """Reads documents depth first, collecting layers (in merge order) and problems."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.files: list[str] = []
        self.layers: list[_Layer] = []
        self.profile_names: set[str] = set()
        self.unreadable = False  # then a profile name cannot be judged unknown
        self.main_prefix: tuple[str, ...] | None = None
        self._done: set[str] = set()
        self._chain: list[tuple[str, str]] = []  # (real path, shown name) being read

    def problem(self, file: str, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(file, key, message))

    def add_file(self, path: Path, named_by: tuple[str, str] | None) -> None:
        """Read ``path`` (named by ``(file, key)``, or None for the main file) and its bases."""
        shown = str(path)
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError):
            real = shown
        reals = [at for at, _ in self._chain]
        if real in reals and named_by:
            names = [_show(name) for _, name in self._chain[reals.index(real) :]]
            chain = " -> ".join([*names, _show(shown)])
            self.problem(*named_by, f"extends loop: {chain}; remove one of these extends")
            return
        if real in self._done:
            return
        read = self._read(path, named_by)
        if read is None:
            self.unreadable = True
            return
        self._chain.append((real, shown))
        self.add_document(read[0], shown, read[1], path.parent)
        self._chain.pop()
        self._done.add(real)

    def add_document(
        self, doc: Mapping[str, Any], file: str, prefix: tuple[str, ...], base_dir: Path
    ) -> None:
        """Add the files ``doc`` extends, then ``doc`` itself, as layers."""
        if self.main_prefix is None:
            self.main_prefix = prefix
        deep = _too_deep(doc)
        if deep is not None:
            key = join_key((*prefix, deep))
            self.problem(file, key, f"is nested more than {_MAX_DEPTH} levels deep")
            self.unreadable = True
            return
        for key, entry in self._extends(doc, file, prefix):
            self.add_file(base_dir / entry, (file, key))
        profiles = self._profiles(doc.get("profile"), file, (*prefix, "profile"))
        body = {k: v for k, v in doc.items() if k not in _RESERVED}
        self.layers.append(_Layer(file, prefix, body, profiles))

    def _read(self, path: Path, named_by: tuple[str, str] | None) -> _Document | None:
        shown = str(path)
        try:
            raw = read_regular(path)
        except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
            self._unopened(shown, named_by, exc)
            return None
        except NotRegularFile:
            self.problem(
                shown, "", "is not a regular file (a FIFO, device or socket); give a .toml file"
            )
            return None
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                self.problem(
                    shown, "", f"is larger than {MAX_CONFIG_BYTES} bytes, too large to be a "
                    "configuration file; check the path"
                )  # fmt: skip
            else:
                self.problem(shown, "", f"cannot be read: {exc.strerror or exc}")
            return None
        self.files.append(shown)
        try:
            return _document(path, _parse(raw))
        except _Unusable as exc:
            self.problem(shown, exc.key, exc.message)
            return None

    def _unopened(self, shown: str, named_by: tuple[str, str] | None, exc: Exception) -> None:
        why = _UNOPENED.get(type(exc), "is not a usable file path")
        if named_by is None:
            # The same words as before composition existed, for the file given to --config.
            fix = _MAIN_FILE_FIXES.get(why, why)
            self.problem(shown, "", fix)
        else:
            where = "paths are relative to the file that names them"
            self.problem(*named_by, f"extended file {shown!r} {why} ({where})")

    def _extends(
        self, doc: Mapping[str, Any], file: str, prefix: tuple[str, ...]
    ) -> Iterator[tuple[str, str]]:
        # A generator, so that each entry's problems come in the order of the entries.
        key = join_key((*prefix, "extends"))
        value = doc.get("extends")
        if value is None:
            return
        if isinstance(value, str):
            items = [(key, value)]
        elif isinstance(value, (list, tuple)):
            items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        else:
            example = 'e.g. extends = ["base.toml"]'
            kind = kind_of(value)
            self.problem(file, key, f"must be a file path or a list of them, {example}, not {kind}")
            return
        for where, entry in items:
            if not isinstance(entry, str) or not entry:
                self.problem(file, where, f"must be the path of a TOML file, not {kind_of(entry)}")
                continue
            # An entry may be made optional: "${BASE:-}" names no file when BASE is unset.
            text = self.interpolate(entry, file, where)
            if text:
                yield where, text

    def _profiles(
        self, value: object, file: str, prefix: tuple[str, ...]
    ) -> dict[str, Mapping[str, Any]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            what = "must be a table of profiles such as [profile.ci]"
            self.problem(file, join_key(prefix), f"{what}, not {kind_of(value)}")
            return {}
        out: dict[str, Mapping[str, Any]] = {}
        for name, table in value.items():
            self.profile_names.add(str(name))
            where = join_key((*prefix, str(name)))
            if not isinstance(table, Mapping):
                why = "a profile overlays the rest of the configuration"
                self.problem(file, where, f"must be a table ({why}), not {kind_of(table)}")
                continue
            for key in _RESERVED:
                if key in table:
                    why = "is not allowed in a profile; put it at the top level"
                    self.problem(file, f"{where}.{key}", why)
            out[str(name)] = {k: v for k, v in table.items() if k not in _RESERVED}
        return out

    def finish(self, source: str, profile: str | None) -> Composed:
        """Merge the layers, apply ``profile``, interpolate; raise if anything was wrong."""
        data: dict[str, Any] = {}
        origins = _Origins()
        for layer in self.layers:
            _overlay(
                data,
                origins.add(layer.file, layer.prefix),
                layer.body,
                "",
                len(origins.sources) - 1,
            )
        if profile is not None:
            self._apply_profile(data, origins, source, profile)
        self._interpolate_table(data, "", origins)
        if self.problems:
            raise ConfigError(self.problems)
        names = tuple(sorted(self.profile_names))
        return Composed(data, origins, tuple(self.files), names, source, profile)

    def _apply_profile(
        self, data: dict[str, Any], origins: _Origins, source: str, profile: str
    ) -> None:
        for layer in self.layers:
            if profile in layer.profiles:
                prefix = (*layer.prefix, "profile", profile)
                by_key = origins.add(layer.file, prefix)
                _overlay(data, by_key, layer.profiles[profile], "", len(origins.sources) - 1)
        # A file that could not be read may define it; its own problem says enough.
        if profile not in self.profile_names and not self.unreadable:
            hint = _profile_hint(profile, self.profile_names)
            key = join_key((*(self.main_prefix or ()), "profile"))
            self.problem(source, key, f"no profile is named {profile!r}{hint}")

    def _interpolate_table(
        self, table: dict[str, Any], name: str, origins: Mapping[str, Origin]
    ) -> None:
        """Interpolate the merged ``table`` (at key path ``name``) in place.

        Every table of the merged data is a dict of ours (made by :func:`_overlay`), so
        its values can be replaced where they are. A value's origin is looked up only
        when it holds a ``$``: only then can there be a problem to place.
        """
        for key, value in table.items():
            if isinstance(value, dict):
                self._interpolate_table(value, _child(name, key), origins)
            elif isinstance(value, (str, list, tuple, Mapping)):
                if _has_dollar(value):
                    origin = origins[_child(name, key)]
                    table[key] = self._interpolate_value(value, origin.file, origin.key)
                elif not isinstance(value, str):
                    table[key] = _copy(value)

    def _interpolate_value(self, value: Any, file: str, key: str) -> Any:
        if isinstance(value, str):
            return self.interpolate(value, file, key)
        if isinstance(value, (list, tuple)):
            items = [self._interpolate_value(v, file, f"{key}[{i}]") for i, v in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, Mapping):
            return {
                k: self._interpolate_value(v, file, f"{key}.{_quote(str(k))}")
                for k, v in value.items()
            }
        return value

    def interpolate(self, text: str, file: str, key: str) -> str | None:
        """``text`` with its ``${...}`` replaced, or None: each bad one is a problem at ``key``."""
        if "$" not in text:
            return text
        errors: list[str] = []
        result = _REFERENCE.sub(lambda m: _substitute(m, self.env, errors), text)
        for error in errors:
            self.problem(file, key, error)
        return None if errors else result


def _substitute(match: re.Match[str], env: Mapping[str, str], errors: list[str]) -> str:
    body = match.group("body")
    if body is None:
        return "${"
    if match.group("end") is None:
        errors.append("has a '${' without its closing '}'; write '$${' for a literal '${'")
        return match.group()
    name, colon, default = body.partition(":-")
    if not _NAME.fullmatch(name) or "${" in default:
        usage = "write ${NAME} or ${NAME:-default} (no nesting), or '$${' for a literal '${'"
        errors.append(f"{_show(match.group())} is not a variable reference; {usage}")
        return match.group()
    value = env.get(name)
    if colon and not value:
        return default
    if value is None:
        errors.append(f"variable {name!r} is not set; set it or give a default: ${{{name}:-value}}")
        return match.group()
    return value


def _overlay(
    target: dict[str, Any],
    origins: dict[str, int],
    layer: Mapping[str, Any],
    name: str,
    source: int,
) -> None:
    """Deep-merge ``layer`` into ``target``: tables merge, anything else replaces.

    ``name`` is the key path of ``target`` in the merged data, already joined: each key
    is quoted once, not once per key beneath it. Each key set is recorded in ``origins``
    as coming from ``source`` (see :class:`_Origins`).
    """
    for key, value in layer.items():
        here = _child(name, key)
        old = target.get(key)
        if isinstance(old, dict) and not isinstance(value, Mapping):
            # Only the replaced table's own keys: scanning every origin here made a
            # profile that replaces many tables quadratic.
            _forget(origins, old, here)
        origins[here] = source
        if isinstance(value, Mapping):
            if not isinstance(old, dict):
                target[key] = old = {}
            _overlay(old, origins, value, here, source)
        else:
            target[key] = value


class _Origins(Mapping[str, Origin]):
    """Each key path of the merged data -> the :class:`Origin` of its value, built when
    asked for: what is stored per key is the number of the document (a file, or a
    profile table in one) that set it last, so a large configuration costs one dict
    entry per key and no object (which the cycle collector would walk again and again
    while the file is read)."""

    __slots__ = ("by_key", "sources")

    def __init__(self) -> None:
        self.by_key: dict[str, int] = {}
        self.sources: list[tuple[str, str]] = []  # (file, key path of the document in it)

    def add(self, file: str, prefix: tuple[str, ...]) -> dict[str, int]:
        """Number a new source; return the mapping that :func:`_overlay` fills."""
        self.sources.append((file, join_key(prefix)))
        return self.by_key

    def __getitem__(self, key: str) -> Origin:
        file, prefix = self.sources[self.by_key[key]]
        return Origin(file, f"{prefix}.{key}" if prefix else key)

    def __contains__(self, key: object) -> bool:
        return key in self.by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)


def _child(name: str, key: object) -> str:
    """The key path of ``key`` inside the table at key path ``name``."""
    part = _quote(str(key))
    return f"{name}.{part}" if name else part


def _forget(origins: dict[str, int], table: Mapping[str, Any], name: str) -> None:
    """Drop the origins of everything under ``table``, which sits at key path ``name``."""
    for key, value in table.items():
        here = _child(name, key)
        origins.pop(here, None)
        if isinstance(value, dict):
            _forget(origins, value, here)


def _has_dollar(value: Any) -> bool:
    """True when a string in ``value`` (a string, or a list or table of them) has a ``$``."""
    if isinstance(value, str):
        return "$" in value
    if isinstance(value, (list, tuple)):
        return any(_has_dollar(v) for v in value)
    if isinstance(value, Mapping):
        return any(_has_dollar(v) for v in value.values())
    return False


def _copy(value: Any) -> Any:
    """``value`` with its lists and tables copied, so the result shares none with a host's."""
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _leaves(
    table: Mapping[str, Any], name: str, origins: Mapping[str, Origin]
) -> Iterator[tuple[str, Any, Origin]]:
    for key, value in table.items():
        here = _child(name, key)
        if isinstance(value, dict):
            yield from _leaves(value, here, origins)
        else:
            yield here, value, origins[here]


_Document = tuple[Mapping[str, Any], tuple[str, ...]]


class _Unusable(Exception):
    """A file's text is not a usable document; ``key`` is empty for whole-file problems."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# A configuration file is read whole; beyond this it is refused rather than let a
# mistaken path (a log file, /dev/zero) exhaust memory.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


class NotRegularFile(OSError):
    """The path names a FIFO, a device or a socket: never opened for reading."""


def read_regular(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    A FIFO, device or socket raises :class:`NotRegularFile` without blocking (it is
    opened with O_NONBLOCK and checked before any read), and a larger file raises
    ``OSError(EFBIG)``; everything else raises what ``open`` raises.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    with open(os.open(path, flags), "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


def _parse(raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unusable("", _not_utf8(raw, exc.start)) from None
    try:
        # Some editors start UTF-8 files with a byte order mark; TOML itself does not allow one.
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise _Unusable("", f"is not valid TOML: {exc}; fix the syntax there") from None
    except RecursionError:
        raise _Unusable("", "is not usable TOML: it is nested too deeply") from None
    except ValueError as exc:
        # tomllib lets this out for an integer of over 4300 digits, among others.
        why = " ".join(str(exc).split(";")[0].split())
        raise _Unusable("", f"is not usable TOML: {why}") from None


def _not_utf8(raw: bytes, start: int) -> str:
    line_start = raw.rfind(b"\n", 0, start) + 1
    line = raw.count(b"\n", 0, start) + 1
    column = len(raw[line_start:start].decode("utf-8", "replace")) + 1
    where = f"byte 0x{raw[start]:02x} at line {line}, column {column}"
    return f"is not UTF-8 text ({where}); save the file as UTF-8"


def _document(path: Path, doc: dict[str, Any]) -> _Document:
    """The configuration in a parsed file: all of it, or a pyproject's ``[tool.hybrid]``."""
    if path.name != "pyproject.toml":
        return doc, ()
    tool = doc.get("tool")
    hybrid = tool.get("hybrid", {}) if isinstance(tool, Mapping) else {}
    if not isinstance(hybrid, Mapping):
        raise _Unusable("tool.hybrid", f"must be a table, not {kind_of(hybrid)}")
    return hybrid, ("tool", "hybrid")


def _too_deep(doc: Mapping[str, Any]) -> str | None:
    """The top-level key under which ``doc`` nests too deeply (or loops back on itself)."""
    containers = (Mapping, list, tuple)
    for top, value in doc.items():
        stack = [(value, 1)] if isinstance(value, containers) else []
        while stack:
            item, depth = stack.pop()
            if depth > _MAX_DEPTH:
                return str(top)
            # Only containers go on the stack, except where anything would be too deep.
            for child in item.values() if isinstance(item, Mapping) else item:
                if depth >= _MAX_DEPTH or isinstance(child, containers):
                    stack.append((child, depth + 1))
    return None


def _profile_hint(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    if not names:
        return " (none is defined; add a [profile.NAME] table)"
    close = close_matches(name, names, cutoff=0.5)  # profile names are short: "ci", "dev"
    maybe = f"did you mean {close[0]!r}? " if close else ""
    return f" ({maybe}defined: {', '.join(map(_show, names))})"


_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"))


def kind_of(value: object) -> str:
    """What ``value`` is, for a message: ``a string ('false')``, ``a table``."""
    for kind, name in _KINDS:
        if isinstance(value, kind):
            text = repr(value)
            return f"{name} ({text if len(text) <= 60 else text[:57] + '...'})"
    if isinstance(value, Mapping):
        return "a table"
    return "a list" if isinstance(value, (list, tuple)) else type(value).__name__


def _show(name: str) -> str:
    """A file name for a one-line message: as it is when printable, else its repr."""
    return name if name.isprintable() else repr(name)
