"""The JSON lines sink: one event per line in a file that rotates by size.

Every file starts with a header line naming the format and its version, the recording
(one id per sink) and the part number, so a reader can tell a trace from any other JSON
lines file, refuse what it cannot read, and put rotated parts back together in order.
``json`` is imported when the first line is written, not when ``hybrid_core`` is.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from .._markers import VERSION
from .bus import Event

__all__ = ["TRACE_FORMAT", "TRACE_VERSION", "JsonlSink", "event_from_dict", "event_line"]

TRACE_FORMAT = "hybrid-core-trace"
TRACE_VERSION = 1
_FIELDS = ("run_id", "trace_id", "span_id", "parent_span_id", "step", "provider", "duration")


def _plain(value: Any) -> Any:
    """What ``json`` cannot encode on its own: sets become lists, anything else its repr."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, Mapping):
        return dict(value)
    return repr(value)


@functools.cache
def _encoder() -> Callable[[Any], str]:
    # One encoder for every line: json.dumps with options builds a new one per call.
    import json

    return json.JSONEncoder(separators=(",", ":"), default=_plain, ensure_ascii=False).encode


def event_line(event: Event) -> str:
    """One event as a compact JSON line (with its newline); None fields are left out."""
    data: dict[str, Any] = {"name": event.name, "timestamp": event.timestamp}
    for key in _FIELDS:
        value = getattr(event, key)
        if value is not None:
            data[key] = value
    if event.attributes:
        data["attributes"] = dict(event.attributes)
    if event.lineage:
        data["lineage"] = event.lineage
    return _encoder()(data) + "\n"


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an Event from a decoded line; keys this version does not know are ignored.

    Raises ValueError, saying which key is wrong, for a line that is not an event.
    """
    name, timestamp = data.get("name"), data.get("timestamp")
    if not isinstance(name, str) or not isinstance(timestamp, (int, float)):
        raise ValueError("not an event: it needs a string 'name' and a number 'timestamp'")
    values: dict[str, Any] = {k: data.get(k) for k in _FIELDS}
    duration = values["duration"]
    if duration is not None and not isinstance(duration, (int, float)):
        raise ValueError(f"'duration' must be a number, not {duration!r}")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise ValueError("'attributes' must be an object")
    lineage = tuple((str(s), str(n)) for s, n in data.get("lineage") or ())
    return Event(name, float(timestamp), attributes=dict(attributes), lineage=lineage, **values)


class JsonlSink:
    """Writes each event as one JSON line to ``path``; a queued sink.

    The file is replaced when the first line is written (a new recording). Lines are
    buffered and reach the disk on :meth:`flush` and :meth:`close`. With ``max_bytes``
    (> 0) the file rotates when the next line would make it larger: ``path`` becomes
    ``path.1``, ``path.1`` becomes ``path.2``, and so on; at most ``backups`` old parts
    are kept (0: the old part is discarded). ``hybrid trace path`` puts the parts of one
    recording back together.
    """

    inline = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 0,
        backups: int = 5,
        name: str = "jsonl",
    ) -> None:
        for what, value in (("max_bytes", max_bytes), ("backups", backups)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"JsonlSink({what}=...) must be an int >= 0, not {value!r}")
        self.name = name
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.recording = os.urandom(8).hex()
        self._file: IO[str] | None = None
        self._size = self._head = 0
        self._part = 0
        self._closed = False

    def handle(self, event: Event) -> None:
        if self._closed:
            return
        line = event_line(event)
        file = self._file or self._open()
        size = len(line.encode()) if not line.isascii() else len(line)
        if self.max_bytes and self._size + size > self.max_bytes and self._size > self._head:
            file = self._rotate()
        file.write(line)
        self._size += size

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Write out what is buffered and close the file; an unused sink leaves a header."""
        if self._closed:
            return
        file = self._file or self._open()
        file.close()
        self._file = None
        self._closed = True

    def _open(self) -> IO[str]:
        import json

        self._part += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8", buffering=1 << 16)
        header = {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "recording": self.recording,
            "part": self._part,
            "created": time.time(),
            "hybrid_core": VERSION,
        }
        line = json.dumps(header, separators=(",", ":")) + "\n"
        self._file.write(line)
        self._size = self._head = len(line)
        return self._file

    def _rotate(self) -> IO[str]:
        assert self._file is not None
        self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        return self._open()

    def __repr__(self) -> str:
        return f"<JsonlSink {self.name!r} path={str(self.path)!r}>"
