"""The run journal: a SQLite file (stdlib ``sqlite3``, WAL) that makes runs durable.

Two tables. ``runs`` holds one row per run: its workflow, a fingerprint of the workflow's
definition (and one per step, to say which steps changed), the encoded inputs, status,
owner and lease, timestamps and, once it ended, its result or error. ``events`` holds
what happened to each step, keyed by its structural path in the run
(``files[37]/complexity``): an ``intent`` row when an attempt starts, a ``compensate``
row with the decision of a compensation, an ``outcome`` row with its final status (and
result, through the codec), ``undo`` rows for rollbacks. The
schema version is ``PRAGMA user_version``; a file from a newer version is refused.

One connection per :class:`Journal`; rows of a run are buffered by its :class:`RunWriter`
and committed together (group commit): when a step is about to start and something it
depends on is not committed yet, at the end of the event loop's turn, and when the run
ends. Concurrent steps that complete together therefore share one transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import attrs

from ..exceptions import JournalError, RunOwnedError, UnknownRunError
from .codec import Codec, builtin_codecs

__all__ = [
    "DURABILITY",
    "DONE_STATUSES",
    "Journal",
    "RunRow",
    "RunWriter",
    "StepRow",
]

SCHEMA = 1
DURABILITY: Mapping[str, str] = {"process": "NORMAL", "power": "FULL", "off": "OFF"}
DONE_STATUSES = frozenset({"succeeded", "compensated", "skipped"})
_LIVE = ("running", "rolling_back")
_ENDED = ("succeeded", "failed", "cancelled", "halted")

_DDL = (
    """CREATE TABLE runs (
        key INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        step_prints TEXT NOT NULL,
        codec TEXT NOT NULL,
        inputs BLOB,
        status TEXT NOT NULL,
        total INTEGER NOT NULL,
        owner TEXT,
        token TEXT,
        lease_until REAL,
        started REAL NOT NULL,
        updated REAL NOT NULL,
        finished REAL,
        result BLOB,
        error TEXT,
        meta TEXT NOT NULL DEFAULT '{}'
    )""",
    # Clustered by run: a commit appends to one run's range of one b-tree (no second
    # index to update), and a resume reads that range.
    # Narrow on purpose (a commit's cost grows with the columns bound): ``state`` is
    # "started" for an intent, the step's status for an outcome, "undone"/"undo_failed"
    # for an undo, "compensate:DECISION" for a compensation; ``note`` is the provider
    # of a step that succeeded, the error of one that did not.
    """CREATE TABLE events (
        run INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        path TEXT NOT NULL,
        state TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        value BLOB,
        note TEXT,
        duration REAL,
        PRIMARY KEY (run, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX runs_by_start ON runs(started)",
)
_EVENT_COLUMNS = ("run", "seq", "path", "state", "attempt", "value", "note", "duration")
# A writer buffers its rows flat, the six values after ``run`` and ``seq`` one row after
# the other: the rows of one commit have consecutive numbers, so a statement binds the
# run's key and its first row's number once (``?1``, ``?2``) and numbers the rest itself
# (``?2 + 1``...). Many rows go in as multi-row INSERTs of these sizes: binding one
# statement's parameters costs SQLite far less than executemany's per-row round trip.
# 100 rows of 6 parameters (and 2) stay under the 999 that SQLite before 3.32 allows.
_WIDTH = 6
_CHUNKS = (100, 25, 5, 1)
# The sqlite3 module binds str, int and float directly but looks up an adapter for every
# None (it builds a key tuple, probes the adapter registry, then looks for ``__adapt__``
# and ``__conform__``): about 0.6 us per None, as much as SQLite takes to store a row. An
# empty ``value`` or ``note`` (never an integer: they hold encoded results, providers and
# errors) is therefore buffered as NULL_VALUE, which the statement stores as NULL.
NULL_VALUE = 0
_NULLABLE = (3, 4)  # value, note: the flat row's fourth and fifth


def _param(number: int, column: int) -> str:
    return f"NULLIF(?{number}, {NULL_VALUE})" if column in _NULLABLE else f"?{number}"


def _values(n: int) -> str:
    rows = []
    for r in range(n):
        first = 3 + r * _WIDTH
        params = ", ".join(_param(first + c, c) for c in range(_WIDTH))
        rows.append(f"(?1, ?2{f' + {r}' if r else ''}, {params})")
    return ", ".join(rows)


_INSERTS = {
    n: f"INSERT INTO events({', '.join(_EVENT_COLUMNS)}) VALUES {_values(n)}" for n in _CHUNKS
}


def _insert(con: sqlite3.Connection, key: int, first: int, flat: list[Any]) -> None:
    """Insert the rows in ``flat`` (numbered from ``first``, inside the caller's
    transaction) in as few statements as it takes."""
    i, left = 0, len(flat) // _WIDTH
    for n in _CHUNKS:
        sql = _INSERTS[n]
        while left >= n:
            con.execute(sql, [key, first + i, *flat[i * _WIDTH : (i + n) * _WIDTH]])
            i += n
            left -= n


_UNDO_STATES = frozenset({"undone", "undo_failed"})
_COMPENSATE = "compensate:"


def _kind_of(state: str) -> str:
    if state == "started":
        return "intent"
    if state in _UNDO_STATES:
        return "undo"
    return "compensate" if state.startswith(_COMPENSATE) else "outcome"


def this_owner() -> str:
    """Who this process is, as a lease names it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str | None) -> bool:
    """True when ``owner`` is a process of this host that no longer exists."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@attrs.frozen
class RunRow:
    """One journaled run, as ``hybrid runs`` lists it."""

    id: str
    workflow: str
    status: str
    started: float
    updated: float
    finished: float | None
    total: int
    done: int | None  # top-level steps done; None when the row was read without counting
    owner: str | None
    lease_until: float | None
    error: str | None
    fingerprint: str
    codec: str
    meta: Mapping[str, Any]
    prints_json: str = attrs.field(default="{}", repr=False)
    inputs: Any = attrs.field(default=None, repr=False)
    result: Any = attrs.field(default=None, repr=False)

    @property
    def step_prints(self) -> Mapping[str, str]:
        """Step path -> digest of its definition when the run was journaled."""
        prints: Mapping[str, str] = json.loads(self.prints_json)
        return prints

    @property
    def owned(self) -> bool:
        """True while a live process holds the run's lease."""
        return (
            self.status in _LIVE
            and self.lease_until is not None
            and self.lease_until > time.time()
            and not _owner_gone(self.owner)
        )


@attrs.frozen
class StepRow:
    """One row of a run's events: an intent, an outcome or an undo of a step."""

    seq: int
    path: str
    kind: str
    attempt: int
    status: str | None
    provider: str | None
    error: str | None
    duration: float | None
    value: Any = attrs.field(default=None, repr=False)


def _explain(path: Path, exc: sqlite3.Error, doing: str) -> JournalError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        hint = (
            "another process holds a write lock on it; wait for it, raise [runs] "
            "busy_timeout, or use another journal file"
        )
    elif "full" in text or "disk I/O" in text:
        hint = (
            "writing the file failed (a full disk, a file size limit or a failing device); "
            "free space or move [runs] path to another disk"
        )
    elif "not a database" in text or "malformed" in text or "file is encrypted" in text:
        hint = (
            "it is not a hybrid_core journal (not an SQLite database); point [runs] path "
            "at another file or remove this one"
        )
    elif "readonly" in text or "unable to open" in text:
        hint = "it cannot be written here; check the folder exists and is writable"
    else:
        hint = "see the SQLite message"
    return JournalError(f"run journal {path}: {doing} failed ({text}): {hint}")


class Journal:
    """A SQLite run journal at ``path``; opened on first use, closed with :meth:`close`.

    ``durability``: ``"process"`` (WAL, ``synchronous=NORMAL``: what committed survives a
    killed process), ``"power"`` (``synchronous=FULL``: survives power loss too), ``"off"``
    (``synchronous=OFF``: survives a killed process, but an OS crash or a power loss may
    lose or damage the file). ``codec`` is ``"json"`` (default), ``"pickle"``, another
    registered name or a :class:`Codec`. ``lease`` is how many seconds a run's owner holds
    it between renewals; ``busy_timeout`` how long a write waits for another process's
    lock. ``keep``/``keep_days`` are the retention :meth:`prune` applies.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: str = "process",
        codec: str | Codec = "json",
        lease: float = 30.0,
        busy_timeout: float = 5.0,
        keep: int | None = 200,
        keep_days: float | None = 30.0,
        codecs: Mapping[str, Callable[[], Codec]] | None = None,
    ) -> None:
        if durability not in DURABILITY:
            raise ValueError(
                f"journal durability must be one of {', '.join(map(repr, DURABILITY))}, "
                f"not {durability!r}"
            )
        for what, value in (("lease", lease), ("busy_timeout", busy_timeout)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"journal {what} must be seconds > 0, not {value!r}")
        self.path = Path(path)
        self.durability = durability
        self.lease = float(lease)
        self.busy_timeout = float(busy_timeout)
        self.keep = keep
        self.keep_days = keep_days
        self._codecs = {**builtin_codecs(), **(codecs or {})}
        if not isinstance(codec, str) and not isinstance(codec, Codec):
            raise TypeError(
                f"journal codec must be a name or an object with name, encode and decode, "
                f"not {codec!r}"
            )
        self._codec: Codec | None = None if isinstance(codec, str) else codec
        self.codec_name = codec if isinstance(codec, str) else codec.name
        self.owner = this_owner()
        self._con: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    @property
    def codec(self) -> Codec:
        """The codec new runs are written with (``codec_name``)."""
        if self._codec is None:
            self._codec = self.codec_named(self.codec_name)
        return self._codec

    def add_codecs(self, codecs: Mapping[str, Codec]) -> None:
        """Make more codecs known by name (those plugins provide)."""
        for name, codec in codecs.items():
            self._codecs.setdefault(name, lambda c=codec: c)  # type: ignore[misc]

    def codec_named(self, name: str) -> Codec:
        """The codec named ``name`` (a run's row names the codec it was written with)."""
        if self._codec is not None and name == self._codec.name:
            return self._codec
        make = self._codecs.get(name)
        if make is None:
            known = ", ".join(map(repr, sorted(self._codecs)))
            raise JournalError(
                f"run journal {self.path}: no codec named {name!r} is available here "
                f"(known: {known}); install the plugin that provides it"
            )
        return make()

    def __repr__(self) -> str:
        return f"<Journal {str(self.path)!r} durability={self.durability} codec={self.codec_name}>"

    # -- the connection -------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """The open connection (opening, checking and if need be creating the schema)."""
        if self._con is None:
            with self._lock:
                if self._con is None:
                    self._con = self._open()
        return self._con

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if not folder.is_dir():
            raise JournalError(
                f"run journal {self.path}: the folder {folder} does not exist; create it or "
                "point [runs] path elsewhere"
            )
        if self.path.exists() and not self.path.is_file():
            raise JournalError(
                f"run journal {self.path}: it is not a regular file; point [runs] path at a file"
            )
        try:
            con = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
        except sqlite3.Error as exc:
            raise _explain(self.path, exc, "opening it") from None
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA:
                raise JournalError(
                    f"run journal {self.path}: it was written by a newer hybrid_core (schema "
                    f"{version}; this version reads {SCHEMA}); upgrade hybrid_core or use "
                    "another journal file"
                )
            if version == 0:
                self._create(con)
            else:
                self._check_tables(con)
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA synchronous = {DURABILITY[self.durability]}")
        except sqlite3.Error as exc:
            con.close()
            raise _explain(self.path, exc, "opening it") from None
        except JournalError:
            con.close()
            raise
        return con

    def _check_tables(self, con: sqlite3.Connection) -> None:
        """A file that claims this schema has its tables (not a foreign or damaged one)."""
        have = [r[1] for r in con.execute("PRAGMA table_info(events)")]
        if have != list(_EVENT_COLUMNS):
            raise JournalError(
                f"run journal {self.path}: it says schema {SCHEMA} but its tables are not "
                "this version's (an events table with columns "
                f"{', '.join(have) or 'none'}); move it away or point [runs] path elsewhere"
            )

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute("BEGIN IMMEDIATE")
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
            if tables:
                raise JournalError(
                    f"run journal {self.path}: it is an SQLite database of something else "
                    f"(it has {', '.join(sorted(tables)[:5])}); point [runs] path at another file"
                )
            for ddl in _DDL:
                con.execute(ddl)
            con.execute(f"PRAGMA user_version = {SCHEMA}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), errors explained."""
        with self._lock:
            con = self.connection()
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _explain(self.path, exc, doing) from None

    # -- writing a run --------------------------------------------------------------------

    def begin(
        self,
        run_id: str,
        *,
        workflow: str,
        fingerprint: str,
        step_prints: Mapping[str, str] | str,
        inputs: str | bytes,
        total: int,
        meta: Mapping[str, Any] | None = None,
    ) -> RunWriter:
        """Journal a new run and take its lease; return the writer for its rows."""
        token = uuid.uuid4().hex
        now = time.time()
        with self._write("recording a new run") as con:
            cur = con.execute(
                "INSERT INTO runs(id, workflow, fingerprint, step_prints, codec, inputs, status,"
                " total, owner, token, lease_until, started, updated, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id, workflow, fingerprint,
                    step_prints if isinstance(step_prints, str) else json.dumps(dict(step_prints)),
                    self.codec.name, inputs, total, self.owner, token, now + self.lease, now,
                    now, json.dumps(dict(meta or {}), default=str),
                ),
            )  # fmt: skip
        assert cur.lastrowid is not None
        return RunWriter(self, run_id, cur.lastrowid, token, self.codec)

    def claim(
        self,
        run_id: str,
        *,
        fingerprint: str | None = None,
        step_prints: Mapping[str, str] | None = None,
    ) -> tuple[RunRow, RunWriter]:
        """Take the lease of a journaled run (to resume it); RunOwnedError if it is held.

        ``fingerprint`` and ``step_prints``, when given, replace the recorded ones (a
        resume forced past a changed definition).
        """
        token = uuid.uuid4().hex
        with self._write(f"claiming run {run_id}") as con:
            row = self._run_row(con, run_id)
            if row.owned and row.owner != self.owner:
                until = time.strftime("%H:%M:%S", time.localtime(row.lease_until or 0))
                raise RunOwnedError(
                    f"run {run_id} is being run by {row.owner} (its lease lasts until "
                    f"{until}); wait for it to end, or for the lease to expire if that "
                    "process is gone",
                    run_id=run_id,
                    owner=row.owner or "",
                )
            now = time.time()
            con.execute(
                "UPDATE runs SET owner = ?, token = ?, lease_until = ?, updated = ? WHERE id = ?",
                (self.owner, token, now + self.lease, now, run_id),
            )
            last = con.execute(
                "SELECT MAX(seq) FROM events WHERE run = (SELECT key FROM runs WHERE id = ?)",
                (run_id,),
            )
            start = last.fetchone()[0] or 0
            key = con.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            if fingerprint is not None and fingerprint != row.fingerprint:
                con.execute(
                    "UPDATE runs SET fingerprint = ?, step_prints = ? WHERE id = ?",
                    (fingerprint, json.dumps(dict(step_prints or {})), run_id),
                )
        return row, RunWriter(self, run_id, key, token, self.codec_named(row.codec), start)

    # -- reading --------------------------------------------------------------------------

    def _run_row(
        self, con: sqlite3.Connection, run_id: str, *, values: bool = True, count: bool = True
    ) -> RunRow:
        done = (
            "(SELECT COUNT(*) FROM events e WHERE e.run = runs.key"
            " AND instr(e.path, '/') = 0 AND instr(e.path, '[') = 0"
            " AND e.state IN ('succeeded', 'compensated', 'skipped'))"
            if count
            else "NULL"
        )
        cur = con.execute(
            "SELECT id, workflow, status, started, updated, finished, total, owner, lease_until,"
            f" error, fingerprint, step_prints, codec, meta, inputs, result, {done}"
            " FROM runs WHERE id = ?",
            (run_id,),
        )
        found = cur.fetchone()
        if found is None:
            raise self._unknown(con, run_id)
        return self._to_row(found, values=values)

    def _unknown(self, con: sqlite3.Connection, run_id: str) -> UnknownRunError:
        like = [r[0] for r in con.execute(
            "SELECT id FROM runs WHERE id LIKE ? ORDER BY started DESC LIMIT 3",
            (f"{run_id[:4]}%",),
        )]  # fmt: skip
        hint = f" (did you mean {like[0]}?)" if like else " (hybrid runs lists them)"
        return UnknownRunError(
            f"no run {run_id!r} is in the journal {self.path}{hint}", run_id=run_id
        )

    def _to_row(self, r: Sequence[Any], *, values: bool) -> RunRow:
        codec = self.codec_named(r[12]) if values else None
        return RunRow(
            id=r[0], workflow=r[1], status=r[2], started=r[3], updated=r[4], finished=r[5],
            total=r[6], owner=r[7], lease_until=r[8], error=r[9], fingerprint=r[10],
            prints_json=r[11], codec=r[12], meta=json.loads(r[13]),
            inputs=codec.decode(r[14]) if codec is not None and r[14] is not None else None,
            result=codec.decode(r[15]) if codec is not None and r[15] is not None else None,
            done=r[16],
        )  # fmt: skip

    def run(self, run_id: str, *, count: bool = True) -> RunRow:
        """The journaled run ``run_id`` (UnknownRunError with a did-you-mean if none).

        ``count=False`` leaves ``done`` None rather than count the run's steps (a read of
        all its rows).
        """
        with self._lock:
            try:
                return self._run_row(self.connection(), run_id, count=count)
            except sqlite3.Error as exc:
                raise _explain(self.path, exc, f"reading run {run_id}") from None

    def runs(self, *, limit: int | None = None) -> list[RunRow]:
        """Every journaled run, newest first (inputs and results not decoded)."""
        with self._lock:
            con = self.connection()
            try:
                ids = [r[0] for r in con.execute(
                    "SELECT id FROM runs ORDER BY started DESC, id LIMIT ?",
                    (-1 if limit is None else limit,),
                )]  # fmt: skip
                return [self._run_row(con, i, values=False) for i in ids]
            except sqlite3.Error as exc:
                raise _explain(self.path, exc, "listing runs") from None

    def steps(self, run_id: str, *, values: bool = False) -> list[StepRow]:
        """The event rows of a run, in the order they were written."""
        with self._lock:
            con = self.connection()
            try:
                row = self._run_row(con, run_id, values=False)
                codec = self.codec_named(row.codec) if values else None
                found = []
                for seq, path, state, attempt, value, note, duration in con.execute(
                    "SELECT seq, path, state, attempt, value, note, duration FROM events"
                    " WHERE run = (SELECT key FROM runs WHERE id = ?) ORDER BY seq",
                    (run_id,),
                ):
                    kind = _kind_of(state)
                    done = kind == "outcome" and state in DONE_STATUSES
                    found.append(
                        StepRow(
                            seq=seq,
                            path=path,
                            kind=kind,
                            attempt=attempt,
                            status=None if kind == "intent" else state.removeprefix(_COMPENSATE),
                            provider=note if done else None,
                            error=None if done else note,
                            duration=duration,
                            value=(
                                codec.decode(value)
                                if codec is not None and value is not None
                                else None
                            ),
                        )
                    )
                return found
            except sqlite3.Error as exc:
                raise _explain(self.path, exc, f"reading run {run_id}") from None

    def outcomes(
        self, run_id: str, under: str | None = None
    ) -> dict[str, tuple[int, str, Any, int, str | None]]:
        """What a resume may reuse: path -> (seq, status, encoded value, attempts, provider).

        Only outcomes in effect: done, and not undone since. ``under`` None reads the
        top-level steps only; a top-level step's name reads everything below it
        (``files[3]/parse``), so a resume reads a subtree only when it needs it.
        """
        found: dict[str, tuple[int, str, Any, int, str | None]] = {}
        if under is None:
            where = "instr(path, '/') = 0 AND instr(path, '[') = 0 AND instr(path, ':') = 0"
            args: tuple[Any, ...] = (run_id,)
        else:
            where = "substr(path, 1, ?) IN (?, ?, ?)"
            args = (run_id, len(under) + 1, f"{under}/", f"{under}[", f"{under}:")
        with self._lock:
            con = self.connection()
            try:
                rows = con.execute(
                    "SELECT path, seq, state, value, attempt, note FROM events"
                    " WHERE run = (SELECT key FROM runs WHERE id = ?)"
                    " AND state != 'started' AND substr(state, 1, 11) != 'compensate:'"
                    f" AND {where} ORDER BY seq",
                    args,
                ).fetchall()
                done = DONE_STATUSES
                for row in rows:
                    if row[2] in done:
                        found[row[0]] = row[1:]
                    else:  # failed, cancelled, halted; undone
                        found.pop(row[0], None)
            except sqlite3.Error as exc:
                raise _explain(self.path, exc, f"reading run {run_id}") from None
        return found

    def prune(self, *, keep: int | None = None, keep_days: float | None = None) -> list[str]:
        """Delete the runs beyond retention (not those a live process owns); their ids."""
        keep = self.keep if keep is None else keep
        keep_days = self.keep_days if keep_days is None else keep_days
        cutoff = time.time() - keep_days * 86400 if keep_days is not None else None
        with self._write("pruning runs") as con:
            rows = con.execute(
                "SELECT id, status, started, owner, lease_until FROM runs ORDER BY started DESC"
            ).fetchall()
            doomed = []
            for n, (run_id, status, started, owner, lease_until) in enumerate(rows):
                live = status in _LIVE and (lease_until or 0) > time.time()
                if live and not _owner_gone(owner):
                    continue
                if (keep is not None and n >= keep) or (cutoff is not None and started < cutoff):
                    doomed.append(run_id)
            for run_id in doomed:
                con.execute(
                    "DELETE FROM events WHERE run = (SELECT key FROM runs WHERE id = ?)", (run_id,)
                )
                con.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        return doomed


class RunWriter:
    """The rows of one run (and its nested runs), buffered and committed in groups.

    ``seq`` counts rows added, ``durable`` rows committed: a step whose dependencies' rows
    are not yet durable triggers :meth:`flush` before it starts (the runner checks).
    """

    __slots__ = (
        "codec",
        "durable",
        "journal",
        "key",
        "open",
        "pending",
        "renew_at",
        "run_id",
        "seq",
        "token",
    )

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        key: int,
        token: str,
        codec: Codec,
        start: int = 0,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.key = key
        self.token = token
        self.codec = codec
        self.pending: list[Any] = []  # rows after ``durable``, flat (see _WIDTH)
        self.open: dict[str, int] = {}  # attempts started since the last commit: path -> n
        self.seq = start
        self.durable = start
        self.renew_at = time.monotonic() + journal.lease / 3

    def add(
        self,
        path: str,
        kind: str,
        attempt: int,
        status: str | None = None,
        provider: str | None = None,
        value: Any = None,
        error: str | None = None,
        duration: float | None = None,
    ) -> int:
        """Buffer one row (``kind``: outcome, undo, compensate); return its number
        (compare with ``durable``)."""
        if self.open:
            self.open.pop(path, None)  # the attempt ended: its intent, if never written, goes
        seq = self.seq = self.seq + 1
        state = f"{_COMPENSATE}{status}" if kind == "compensate" else status
        note = error if error is not None else provider
        self.pending += (
            path,
            state,
            attempt,
            NULL_VALUE if value is None else value,
            NULL_VALUE if note is None else note,
            duration,
        )
        return seq

    def intent(self, path: str, attempt: int) -> None:
        """Attempt ``attempt`` of ``path`` started: its intent row goes in the next commit.

        An attempt that ends before that commit has only its outcome row (its intent,
        never committed, would protect nothing), so steps that start and end between two
        commits cost one row each.
        """
        self.open[path] = attempt

    def _take(self) -> tuple[int, list[Any]]:
        """The buffered rows, flat, and the number of the first (the rest follow it)."""
        rows = self.pending
        self.pending = []
        if self.open:
            for path, attempt in self.open.items():
                rows += (path, "started", attempt, NULL_VALUE, NULL_VALUE, None)
            self.seq += len(self.open)
            self.open = {}
        return self.seq - len(rows) // _WIDTH + 1, rows

    def flush(self) -> None:
        """Commit every buffered row (and renew the lease when it is due) in one go."""
        renew = time.monotonic() >= self.renew_at
        if not self.pending and not self.open and not renew:
            return
        first, rows = self._take()
        seq = self.seq
        journal = self.journal
        with journal._lock:
            con = journal.connection()
            try:
                if len(rows) == _WIDTH and not renew:
                    # One statement in autocommit mode is its own transaction: a chain's
                    # commit per step costs one call into SQLite, not three.
                    con.execute(_INSERTS[1], [self.key, first, *rows])
                else:
                    con.execute("BEGIN IMMEDIATE")
                    try:
                        _insert(con, self.key, first, rows)
                        if renew:
                            self._renew(con)
                        con.execute("COMMIT")
                    except BaseException:
                        if con.in_transaction:
                            con.execute("ROLLBACK")
                        raise
            except sqlite3.Error as exc:
                raise _explain(journal.path, exc, f"recording run {self.run_id}") from None
        self.durable = seq

    def _renew(self, con: sqlite3.Connection) -> None:
        now = time.time()
        cur = con.execute(
            "UPDATE runs SET lease_until = ?, updated = ? WHERE id = ? AND token = ?",
            (now + self.journal.lease, now, self.run_id, self.token),
        )
        if cur.rowcount != 1:
            self._lost(con)
        self.renew_at = time.monotonic() + self.journal.lease / 3

    def _lost(self, con: sqlite3.Connection) -> NoReturn:
        """Another process took the run's lease over: stop, naming it."""
        owner = con.execute("SELECT owner FROM runs WHERE id = ?", (self.run_id,)).fetchone()
        raise RunOwnedError(
            f"run {self.run_id}: another process ({owner[0] if owner else 'unknown'}) took "
            "over its lease while this one was not renewing it; this process stops the "
            "run so that the two do not both run it",
            run_id=self.run_id,
            owner=owner[0] if owner else "",
        )

    def set_status(self, status: str, *, result: Any = None, error: str | None = None) -> None:
        """Record the run's status (and result or error when it ended), with pending rows."""
        first, rows = self._take()
        seq = self.seq
        now = time.time()
        finished = now if status in _ENDED else None
        lease = None if finished is not None else now + self.journal.lease
        with self.journal._write(f"recording run {self.run_id}") as con:
            if rows:
                _insert(con, self.key, first, rows)
            # The status and the lease in one statement, only while this process owns it.
            cur = con.execute(
                "UPDATE runs SET status = ?, result = ?, error = ?, finished = ?, updated = ?,"
                " lease_until = ? WHERE id = ? AND token = ?",
                (status, result, error, finished, now, lease, self.run_id, self.token),
            )
            if cur.rowcount != 1:
                self._lost(con)
        self.renew_at = time.monotonic() + self.journal.lease / 3
        self.durable = seq
