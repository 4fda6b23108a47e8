"""Codecs: how the journal turns results and inputs into stored text or bytes, and back.

The default, :class:`JsonCodec`, writes JSON with a small typed envelope, so that what
comes back from a resume is what went in: tuples stay tuples, ``bytes``, ``datetime``,
``Decimal``, ``UUID``, paths, enums, sets, dicts with non-string keys, and attrs or
dataclass records (of importable classes) are rebuilt as themselves. Anything else is
refused with a message saying where in the value the problem is and what to do. The
envelope is a one-key object whose key starts with ``$``; a plain dict with such a key is
stored as pairs, so no user value is ever mistaken for an envelope.

:class:`PickleCodec` stores anything pickle can, and only when asked for: a journal is a
file, and unpickling a file runs whatever it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import importlib
import json
import pathlib
import pickle
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import attrs

from ..exceptions import JournalCodecError

__all__ = ["Codec", "JsonCodec", "PickleCodec", "builtin_codecs"]

PLAIN = frozenset({str, int, float, bool, type(None)})  # stored as JSON is
_PLAIN = PLAIN
_PATHS = {
    cls.__name__: cls
    for cls in (
        pathlib.Path,
        pathlib.PosixPath,
        pathlib.WindowsPath,
        pathlib.PurePath,
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
    )
}
# One encoder, not one per call: what the json codec writes for a value in PLAIN.
encode_plain = _ENCODE = json.JSONEncoder(separators=(",", ":")).encode
# What that encoder writes for each scalar type but float (whose NaN and infinities it
# spells its own way), without its generic path: a step's result is most often one of these.
SCALAR: dict[type, Callable[[Any], str]] = {
    int: int.__repr__,
    str: json.encoder.encode_basestring_ascii,
    bool: {True: "true", False: "false"}.__getitem__,
    type(None): lambda _: "null",
    float: _ENCODE,
}
_FIX = "return plain data (dicts, lists, str, numbers) or an attrs/dataclass record"


@runtime_checkable
class Codec(Protocol):
    """Turns a value into ``str`` or ``bytes`` for the journal, and back.

    ``encode`` raises :class:`JournalCodecError` for a value it cannot store (the journal
    adds which step it came from); ``decode(encode(v))`` must give back an equal value.
    """

    name: str

    def encode(self, value: Any) -> str | bytes: ...

    def decode(self, data: str | bytes) -> Any: ...


class _Unstorable(Exception):
    """The fast pass met a value it cannot store (the slow pass says where)."""


def _refuse(where: str | None, value: Any, fix: str = _FIX) -> Exception:
    if where is None:
        return _Unstorable()
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if type(value).__module__ == "builtins":
        kind = type(value).__qualname__
    return JournalCodecError(
        f"{where} is a {kind}, which the json codec cannot store; {fix}, or choose "
        "codec = 'pickle' in [runs]",
        type_name=kind,
    )


def _class_ref(cls: type, where: str | None, value: Any) -> str:
    qual = cls.__qualname__
    if "<locals>" in qual:
        raise _refuse(
            where,
            value,
            f"its class {qual} is defined inside a function, so a resume could not rebuild "
            "it; define the class at module level",
        )
    return f"{cls.__module__}:{qual}"


def _find_class(ref: str) -> Any:
    module, _, qual = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _singleton(v: Any) -> str | None:
    """``module:name`` of an object that pickles as a module global (``__reduce__`` -> str)."""
    reduce = getattr(type(v), "__reduce__", None)
    if reduce is None or reduce is object.__reduce__:
        return None
    try:
        name = v.__reduce__()
    except Exception:  # noqa: BLE001 - not one
        return None
    if not isinstance(name, str):
        return None
    return f"{type(v).__module__}:{name}"


class JsonCodec:
    """JSON with a typed envelope: the default codec."""

    name = "json"

    def encode(self, value: Any) -> str:
        return self._encode_at(value, "the value")

    def _encode_at(self, value: Any, where: str) -> str:
        """Encode ``value``; a refusal calls it ``where`` (``the result of step 'parse'``).

        Packed first without keeping track of where it is; only a value that turns out
        unstorable is walked again, to name the place in it that is.
        """
        scalar = SCALAR.get(type(value))
        if scalar is not None:
            return scalar(value)
        try:
            return _ENCODE(self._pack(value, None))
        except _Unstorable:
            self._pack(value, where)
            raise AssertionError("unreachable: the second pass refuses too") from None

    def decode(self, data: str | bytes) -> Any:
        return self._unpack(json.loads(data))

    # -- packing --------------------------------------------------------------------------

    def _pack(self, v: Any, where: str | None) -> Any:
        t = type(v)
        if t in _PLAIN:
            return v
        if t is list:
            return [
                x if type(x) in _PLAIN else self._pack(x, where and f"{where}[{i}]")
                for i, x in enumerate(v)
            ]
        if t is dict:
            out = {}
            for k, x in v.items():
                if type(k) is not str or k[:1] == "$":
                    return self._pairs(v, where)
                tx = type(x)
                out[k] = x if tx in _PLAIN else self._pack(x, where and f"{where}[{k!r}]")
            return out
        if t is tuple:
            return {"$t": [self._pack(x, where and f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, tuple) and hasattr(t, "_fields"):  # a namedtuple
            ref = _class_ref(t, where, v)
            return {
                "$nt": [
                    ref,
                    [
                        self._pack(x, where and f"{where}.{f}")
                        for f, x in zip(t._fields, v, strict=True)
                    ],
                ]
            }
        if isinstance(v, enum.Enum):
            return {
                "$e": [_class_ref(t, where, v), self._pack(v.value, where and f"{where}.value")]
            }
        if isinstance(v, (bytes, bytearray)):
            return {"$b" if t is bytes else "$ba": base64.b64encode(v).decode("ascii")}
        if isinstance(v, (set, frozenset)):
            items = [self._pack(x, where and f"an element of {where}") for x in v]
            return {"$s" if isinstance(v, set) else "$fs": items}
        if isinstance(v, dt.datetime):
            return {"$dt": v.isoformat()}
        if isinstance(v, dt.date):
            return {"$date": v.isoformat()}
        if isinstance(v, dt.time):
            return {"$time": v.isoformat()}
        if isinstance(v, dt.timedelta):
            return {"$td": [v.days, v.seconds, v.microseconds]}
        if isinstance(v, Decimal):
            return {"$dec": str(v)}
        # No UUID or dataclass instance exists before its module is imported: the codec
        # does not import either for a run that has none (import time is a budget).
        uuid = sys.modules.get("uuid")
        if uuid is not None and isinstance(v, uuid.UUID):
            return {"$uuid": str(v)}
        if isinstance(v, pathlib.PurePath) and t.__name__ in _PATHS:
            return {"$p": [t.__name__, str(v)]}
        if attrs.has(t):
            ref = _class_ref(t, where, v)
            fields = {
                a.name: self._pack(getattr(v, a.name), where and f"{where}.{a.name}")
                for a in attrs.fields(t)
            }
            return {"$a": [ref, fields]}
        dataclasses = sys.modules.get("dataclasses")
        if dataclasses is not None and dataclasses.is_dataclass(v):
            ref = _class_ref(t, where, v)
            fields = {
                f.name: self._pack(getattr(v, f.name), where and f"{where}.{f.name}")
                for f in dataclasses.fields(v)
            }
            return {"$dc": [ref, fields]}
        if isinstance(v, (str, int, float)):  # a subclass (numpy's float64): its base value
            return _base(v)(v)
        glob = _singleton(v)
        if glob is not None:
            return {"$g": glob}
        raise _refuse(where, v)

    def _pairs(self, v: dict[Any, Any], where: str | None) -> Any:
        pairs = [
            [self._pack(k, where and f"a key of {where}"),
             self._pack(x, where and f"{where}[{k!r}]")]
            for k, x in v.items()
        ]  # fmt: skip
        return {"$d": pairs}

    # -- unpacking ------------------------------------------------------------------------

    def _unpack(self, v: Any) -> Any:
        t = type(v)
        if t is list:
            return [x if type(x) in _PLAIN else self._unpack(x) for x in v]
        if t is not dict:
            return v
        if len(v) != 1:
            return {k: x if type(x) in _PLAIN else self._unpack(x) for k, x in v.items()}
        ((key, body),) = v.items()
        if not key.startswith("$"):
            return {key: self._unpack(body)}
        rebuild = _REBUILD.get(key)
        if rebuild is None:
            raise JournalCodecError(
                f"the journal holds an envelope {key!r} this version of the json codec does "
                "not know; it was written by a newer hybrid_core (upgrade to read it)"
            )
        return rebuild(self, body)


def _base(v: Any) -> type:
    for base in (bool, int, float, str):
        if isinstance(v, base):
            return base
    raise TypeError(v)  # pragma: no cover - only called for str/int/float subclasses


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def _rebuild_record(codec: JsonCodec, body: Any, *, dataclass: bool) -> Any:
    ref, fields = body
    cls = _find_class(ref)
    values = {k: codec._unpack(x) for k, x in fields.items()}
    if dataclass:
        import dataclasses

        known = {f.name: f for f in dataclasses.fields(cls)}
        init = {k: x for k, x in values.items() if k in known and known[k].init}
    else:
        known = {a.name: a for a in attrs.fields(cls)}
        init = {
            (getattr(a, "alias", None) or a.name.lstrip("_")): values[a.name]
            for a in known.values()
            if a.init and a.name in values
        }
    obj = cls(**init)
    for k, x in values.items():
        field = known.get(k)
        if field is not None and not field.init:
            object.__setattr__(obj, k, x)
    return obj


def _rebuild_path(codec: JsonCodec, body: Any) -> Any:
    name, text = body
    return _PATHS.get(name, pathlib.PurePath)(text)


_REBUILD: dict[str, Callable[[JsonCodec, Any], Any]] = {
    "$d": lambda c, b: {c._unpack(k): c._unpack(x) for k, x in b},
    "$g": lambda c, b: _find_class(b),
    "$t": lambda c, b: tuple(c._unpack(x) for x in b),
    "$nt": lambda c, b: _find_class(b[0])(*(c._unpack(x) for x in b[1])),
    "$e": lambda c, b: _find_class(b[0])(c._unpack(b[1])),
    "$b": lambda c, b: base64.b64decode(b),
    "$ba": lambda c, b: bytearray(base64.b64decode(b)),
    "$s": lambda c, b: {c._unpack(x) for x in b},
    "$fs": lambda c, b: frozenset(c._unpack(x) for x in b),
    "$dt": lambda c, b: dt.datetime.fromisoformat(b),
    "$date": lambda c, b: dt.date.fromisoformat(b),
    "$time": lambda c, b: dt.time.fromisoformat(b),
    "$td": lambda c, b: dt.timedelta(days=b[0], seconds=b[1], microseconds=b[2]),
    "$dec": lambda c, b: Decimal(b),
    "$uuid": lambda c, b: _uuid(b),
    "$p": _rebuild_path,
    "$a": lambda c, b: _rebuild_record(c, b, dataclass=False),
    "$dc": lambda c, b: _rebuild_record(c, b, dataclass=True),
}


class PickleCodec:
    """Pickle (protocol 5): stores nearly anything; opt-in, since loading runs code."""

    name = "pickle"

    def encode(self, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=5)
        except Exception as exc:
            raise JournalCodecError(
                f"the value cannot be pickled ({type(exc).__name__}: {exc}); return data "
                "that pickles (no open files, sockets, locks or lambdas)",
                type_name=type(value).__qualname__,
            ) from exc

    def decode(self, data: str | bytes) -> Any:
        return pickle.loads(data if isinstance(data, bytes) else data.encode("latin-1"))


def builtin_codecs() -> dict[str, Callable[[], Codec]]:
    """The codecs every journal knows by name."""
    return {"json": JsonCodec, "pickle": PickleCodec}
