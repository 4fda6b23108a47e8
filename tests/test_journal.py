"""The run journal: codecs, resume from the journal, bad files, locks, leases, full disks.

Real SQLite files, real subprocesses and signals; nothing of SQLite or the OS is mocked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
from clitools import hybrid_env, hybrid_executable, run_hybrid

import hybrid_core as hc
from hybrid_core._journal import JsonCodec

HERE = Path(__file__).resolve().parent


@attrs.frozen
class Finding:
    path: str
    line: int
    tags: tuple[str, ...] = ()


@dataclasses.dataclass
class Totals:
    files: int
    seconds: float


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Pair(NamedTuple):
    a: int
    b: str


def test_json_codec_gives_back_what_went_in() -> None:
    codec = JsonCodec()
    value = {
        "tuple": (1, (2, 3)),
        "bytes": b"\x00\xff",
        "when": dt.datetime(2026, 12, 2, 1, 2, 3, tzinfo=dt.timezone.utc),
        "day": dt.date(2026, 12, 2),
        "dec": Decimal("1.10"),
        "path": Path("/a/b"),
        "set": {1, 2},
        "int keys": {1: "one", (2, 3): "pair"},
        "$dollar": "not an envelope",
        "record": Finding("a.py", 3, ("x",)),
        "dc": Totals(3, 0.5),
        "enum": Level.HIGH,
        "nt": Pair(1, "x"),
        "skipped": hc.SKIPPED,
        "nan": float("inf"),
    }
    back = codec.decode(codec.encode(value))
    assert back == value
    assert type(back["tuple"]) is tuple and type(back["record"]) is Finding
    assert back["skipped"] is hc.SKIPPED and type(back["nt"]) is Pair


def test_a_result_the_codec_cannot_store_fails_the_step_when_it_completes(
    tmp_path: Path,
) -> None:
    calls = []

    def opens() -> Any:
        calls.append(1)
        return {"conn": [socket.socket()]}

    wf = hc.Workflow("sockets")
    wf.step("opens", opens)
    wf.step("after", lambda x: calls.append(2), x=hc.result("opens"))
    with hc.Hybrid(entry_points=False, journal=tmp_path / "j.sqlite3") as system:
        result = system.run(wf)
    result.steps["opens"].result["conn"][0].close()
    assert result.status is hc.RunStatus.FAILED
    message = str(result.error)
    assert "step 'opens'" in message and "socket.socket" in message
    assert "codec = 'pickle'" in message and "['conn'][0]" in message
    assert calls == [1]  # the step after it never ran


def test_pickle_codec_is_opt_in_and_stores_more(tmp_path: Path) -> None:
    wf = hc.Workflow("sets")
    wf.step("make", lambda: frozenset({Finding("a", 1)}))
    journal = hc.Journal(tmp_path / "j.sqlite3", codec="pickle")
    with hc.Hybrid(entry_points=False, journal=journal) as system:
        result = system.run(wf)
        assert result.ok
        rows = journal.steps(result.run_id, values=True)
    assert [r.value for r in rows if r.kind == "outcome"] == [frozenset({Finding("a", 1)})]


def _halting_flow(seen: list[str]) -> hc.Workflow:
    def first(context: hc.ExecutionContext) -> int:
        seen.append(f"first {context.idempotency_key}")
        return 1

    def second(x: int, context: hc.ExecutionContext) -> int:
        seen.append(f"second {context.idempotency_key}")
        if len(seen) == 2:
            raise hc.Halt("wait for approval")
        return x + 1

    wf = hc.Workflow("approve")
    wf.step("first", first)
    wf.step("second", second, x=hc.result("first"))
    wf.returns(hc.result("second"))
    return wf


def test_resume_by_id_runs_only_what_did_not_complete_with_stable_keys(tmp_path: Path) -> None:
    seen: list[str] = []
    wf = _halting_flow(seen)
    path = tmp_path / "j.sqlite3"
    with hc.Hybrid(entry_points=False, journal=path) as system:
        halted = system.run(wf)
    assert halted.status is hc.RunStatus.HALTED
    with hc.Hybrid(entry_points=False, journal=path) as system:  # a new system, as after a crash
        again = system.resume(halted.run_id, workflow=wf)
        assert again.ok and again.value == 2 and again.run_id == halted.run_id
        twice = system.resume(halted.run_id, workflow=wf)  # it succeeded: nothing runs
    assert twice.ok and twice.value == 2
    assert [s.split()[0] for s in seen] == ["first", "second", "second"]
    assert seen[1].split()[1] == seen[2].split()[1] == f"{halted.run_id}/second"


def test_resuming_a_succeeded_run_gives_back_its_records_and_writes_nothing(
    tmp_path: Path,
) -> None:
    calls: list[str] = []

    def part(i: int) -> dict[str, Any]:
        calls.append(f"part{i}")
        return {"i": i, "pair": (i, str(i))}

    wf = hc.Workflow("parts")
    for i in range(4):
        wf.step(f"p{i}", part, i=i)
    wf.step("skipped", part, i=9, where=lambda i: i < 0)
    wf.step("all", lambda **kw: sorted(kw), **{f"p{i}": hc.result(f"p{i}") for i in range(4)})
    wf.returns(hc.result("all"))
    path = tmp_path / "j.sqlite3"
    with hc.Hybrid(entry_points=False, journal=path) as system:
        first = system.run(wf)
    assert first.ok
    before = sqlite3.connect(path).execute("SELECT * FROM runs").fetchall()
    events = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()
    with hc.Hybrid(entry_points=False, journal=path) as system:
        again = system.resume(first.run_id, workflow=wf)
    assert calls == [f"part{i}" for i in range(4)]  # nothing ran again
    assert again.ok and again.value == first.value and again.run_id == first.run_id
    assert again.completed == first.completed
    for name, rec in first.steps.items():
        back = again.steps[name]
        assert (back.status, back.attempts, back.result) == (rec.status, rec.attempts, rec.result)
    assert again.results == first.results and len(again.steps) == 6
    assert sqlite3.connect(path).execute("SELECT * FROM runs").fetchall() == before
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone() == events


def test_a_changed_definition_is_refused_by_step_unless_forced(tmp_path: Path) -> None:
    seen: list[str] = []
    path = tmp_path / "j.sqlite3"
    with hc.Hybrid(entry_points=False, journal=path) as system:
        halted = system.run(_halting_flow(seen))
    changed = hc.Workflow("approve")
    changed.step("first", lambda: 1)
    changed.step("second", lambda x: x + 10, x=hc.result("first"))
    changed.returns(hc.result("second"))
    with hc.Hybrid(entry_points=False, journal=path) as system:
        with pytest.raises(hc.DefinitionChangedError) as caught:
            system.resume(halted.run_id, workflow=changed)
        assert caught.value.steps == ("first", "second")
        assert "force=True" in str(caught.value)
        forced = system.resume(halted.run_id, workflow=changed, force=True)
    assert forced.ok and forced.value == 11  # 'first' came from the journal


def test_unknown_run_ids_get_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    wf = hc.Workflow("one")
    wf.step("a", lambda: 1)
    with hc.Hybrid(entry_points=False, journal=path) as system:
        run_id = system.run(wf).run_id
        with pytest.raises(hc.UnknownRunError, match=f"did you mean {run_id}"):
            system.resume(run_id[:6] + "zz", workflow=wf)


def _one_step_run(journal: Any) -> hc.RunResult:
    wf = hc.Workflow("one")
    wf.step("a", lambda: 1)
    with hc.Hybrid(entry_points=False, journal=journal) as system:
        return system.run(wf)


def test_journal_files_that_cannot_be_used_are_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(hc.JournalError, match="does not exist; create it"):
        _one_step_run(tmp_path / "missing" / "j.sqlite3")
    with pytest.raises(hc.JournalError, match="cannot be written here"):
        _one_step_run("/proc/j.sqlite3")
    text = tmp_path / "notes.sqlite3"
    text.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(hc.JournalError, match="not a hybrid_core journal"):
        _one_step_run(text)
    assert text.read_text().startswith("these are my notes")  # left as it was
    newer = tmp_path / "newer.sqlite3"
    sqlite3.connect(newer).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(hc.JournalError, match=r"newer hybrid_core \(schema 99"):
        _one_step_run(newer)
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE accounts (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(hc.JournalError, match="SQLite database of something else"):
        _one_step_run(other)


def test_a_lock_held_longer_than_busy_timeout_fails_the_run_clearly(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    _one_step_run(path)  # the schema exists
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"con = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "con.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(hc.JournalError, match="another process holds a write lock"):
            _one_step_run(hc.Journal(path, busy_timeout=0.3))
    finally:
        holder.kill()
        holder.wait()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()


FLOW = """
import asyncio, os, hybrid_core as hc

async def slow(i: int) -> int:
    await asyncio.sleep(float(os.environ.get("PAUSE", "0")))
    return i

wf = hc.Workflow("slowflow")
wf.map("each", slow, over=hc.value(list(range(int(os.environ.get("N", "3"))))), concurrency=1)
wf.returns(hc.result("each"))
"""


def _flow_dir(tmp_path: Path, runs: str = "") -> Path:
    (tmp_path / "slowflow.py").write_text(FLOW)
    (tmp_path / "hybrid.toml").write_text(f"[runs]\n{runs}\n")
    (tmp_path / ".git").mkdir()
    return tmp_path


def _cli(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*hybrid_executable(), *args],
        cwd=folder,
        env=hybrid_env({"PYTHONPATH": str(folder), **env}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _latest_run(folder: Path) -> str:
    listed = run_hybrid("runs", "--json", cwd=folder)
    assert listed.returncode == 0, listed.stderr
    return str(json.loads(listed.stdout)["runs"][0]["id"])


def _wait_for_run(folder: Path) -> str:
    for _ in range(500):
        if (folder / ".hybrid" / "runs.sqlite3").exists():
            listed = run_hybrid("runs", "--json", cwd=folder)
            if listed.returncode == 0 and json.loads(listed.stdout)["runs"]:
                return str(json.loads(listed.stdout)["runs"][0]["id"])
        time.sleep(0.05)
    raise AssertionError("the run was never journaled")


def test_exactly_one_process_owns_a_run_and_a_stalled_owner_loses_it(tmp_path: Path) -> None:
    folder = _flow_dir(tmp_path, "lease = 1.5")
    owner = _cli(folder, "run", "slowflow:wf", "-q", PAUSE="1.0", N="20")
    try:
        run_id = _wait_for_run(folder)
        rival = run_hybrid(
            "resume", run_id, cwd=folder, env={"PYTHONPATH": str(folder), "N": "20"}
        )
        assert rival.returncode == 2
        assert f"run {run_id} is being run by" in rival.stderr
        assert len(rival.stderr.strip().splitlines()) == 2  # "using ..." and the error
        owner.send_signal(signal.SIGSTOP)  # alive, but no longer renewing its lease
        time.sleep(2.5)
        taken = run_hybrid(
            "resume", run_id, "--json", cwd=folder, env={"PYTHONPATH": str(folder), "N": "20"}
        )
        assert taken.returncode == 0, taken.stderr
        assert json.loads(taken.stdout)["value"] == list(range(20))
    finally:
        owner.send_signal(signal.SIGCONT)
    _, err = owner.communicate(timeout=60)
    assert owner.returncode == 1
    assert "took over its lease" in err


def test_a_dead_owner_on_this_host_does_not_block_a_resume(tmp_path: Path) -> None:
    folder = _flow_dir(tmp_path, "lease = 600")
    owner = _cli(folder, "run", "slowflow:wf", "-q", PAUSE="1.0", N="4")
    run_id = _wait_for_run(folder)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    resumed = run_hybrid(
        "resume", run_id, "-q", cwd=folder, env={"PYTHONPATH": str(folder), "N": "4"}
    )
    assert resumed.returncode == 0, resumed.stderr


def _fsize_limit(limit: int) -> Any:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_fails_the_run_with_one_line_and_a_consistent_journal(
    tmp_path: Path,
) -> None:
    folder = _flow_dir(tmp_path)
    first = run_hybrid("run", "slowflow:wf", "-q", cwd=folder, env={"PYTHONPATH": str(folder)})
    assert first.returncode == 0, first.stderr
    journal = folder / ".hybrid" / "runs.sqlite3"
    # No file may grow past the journal's size and four pages more: the journal's
    # write-ahead log fills up a few commits into the second run.
    size = journal.stat().st_size + 4 * 4096
    full = subprocess.run(
        [*hybrid_executable(), "run", "slowflow:wf", "-q"],
        cwd=folder,
        env=hybrid_env({"PYTHONPATH": str(folder), "N": "400"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_fsize_limit(size),
    )
    assert full.returncode == 1, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "a full disk" in lines[0], full.stderr
    con = sqlite3.connect(journal)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
    con.close()


def test_cli_runs_show_prune_and_resume_of_a_succeeded_run(tmp_path: Path) -> None:
    folder = _flow_dir(tmp_path, "keep = 1")
    env = {"PYTHONPATH": str(folder)}
    for _ in range(2):
        done = run_hybrid("run", "slowflow:wf", "-q", cwd=folder, env=env)
        assert done.returncode == 0, done.stderr
    run_id = _latest_run(folder)
    listed = run_hybrid("runs", cwd=folder)
    assert listed.stdout.splitlines()[0].split() == [
        "RUN", "WORKFLOW", "STATUS", "STARTED", "STEPS", "OWNER"
    ]  # fmt: skip
    assert f"{run_id}  slowflow  succeeded" in listed.stdout
    shown = run_hybrid("runs", "show", run_id, cwd=folder)
    assert "each[2]" in shown.stdout and "succeeded" in shown.stdout
    again = run_hybrid("resume", run_id, cwd=folder, env=env)
    assert again.returncode == 0
    assert "had already succeeded; nothing to do" in again.stdout
    assert "[\n  0,\n  1,\n  2\n]" in again.stdout
    pruned = run_hybrid("runs", "prune", cwd=folder)
    assert pruned.returncode == 0 and "pruned 1 run(s)" in pruned.stdout
    assert json.loads(run_hybrid("runs", "--json", cwd=folder).stdout)["runs"][0]["id"] == run_id
    missing = run_hybrid("resume", "nope", cwd=folder)
    assert missing.returncode == 2
    assert "no run 'nope' is in the journal" in missing.stderr
    off = run_hybrid("run", "slowflow:wf", "-q", "--no-journal", cwd=folder, env=env)
    assert off.returncode == 0
    assert len(json.loads(run_hybrid("runs", "--json", cwd=folder).stdout)["runs"]) == 1


def test_runs_config_is_checked_with_the_rest(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text(
        '[runs]\ndurability = "proces"\nlease = -1\nkeep_dyas = 3\nenabled = "no"\n'
    )
    checked = run_hybrid("validate", "--config", str(tmp_path / "hybrid.toml"))
    assert checked.returncode == 2
    err = checked.stderr
    assert "runs.durability" in err and "did you mean 'process'" in err
    assert "runs.lease" in err and "runs.keep_dyas" in err and "runs.enabled" in err


class _UpperCodec:
    """A plugin's codec: JSON text, upper-cased keys would be lossy, so it just tags."""

    name = "tagged"

    def encode(self, value: Any) -> str:
        return "tagged:" + json.dumps(value)

    def decode(self, data: str | bytes) -> Any:
        text = data.decode() if isinstance(data, bytes) else data
        return json.loads(text.removeprefix("tagged:"))


class _CodecPlugin:
    @hc.hookimpl
    def hybrid_journal_codecs(self) -> list[Any]:
        return [_UpperCodec()]


def test_a_plugin_supplies_a_codec_by_name(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    config = {"runs": {"path": str(path), "codec": "tagged"}}
    wf = hc.Workflow("one")
    wf.step("a", lambda: {"n": 1})
    with hc.Hybrid(config, entry_points=False, plugins=[_CodecPlugin()]) as system:
        result = system.run(wf)
        assert result.ok
    raw = sqlite3.connect(path).execute("SELECT value FROM events WHERE state = 'succeeded'")
    assert raw.fetchone()[0] == 'tagged:{"n": 1}'
    bad = {"runs": {"path": str(path), "codec": "taged"}}
    with pytest.raises(hc.ConfigError, match="did you mean 'tagged'"):
        hc.Hybrid(bad, entry_points=False, plugins=[_CodecPlugin()]).start()


class _NumberCodec:
    """A plugin's codec that breaks the contract: encode() gives an int for a non-dict."""

    name = "number"

    def encode(self, value: Any) -> Any:
        return json.dumps(value) if isinstance(value, dict) else len(str(value))

    def decode(self, data: str | bytes) -> Any:
        return json.loads(data)


class _NumberCodecPlugin:
    @hc.hookimpl
    def hybrid_journal_codecs(self) -> list[Any]:
        return [_NumberCodec()]


def test_a_codec_whose_encode_returns_neither_str_nor_bytes_is_refused_by_name(
    tmp_path: Path,
) -> None:
    config = {"runs": {"path": str(tmp_path / "j.sqlite3"), "codec": "number"}}
    fix = "codec 'number' returned int from encode(), which a journal cannot store; its "
    fix += "encode() must return str or bytes"
    wf = hc.Workflow("one")
    wf.step("a", lambda: {"n": 1})
    wf.step("b", lambda: [1, 2])
    with hc.Hybrid(config, entry_points=False, plugins=[_NumberCodecPlugin()]) as system:
        result = system.run(wf)
    assert result.status is hc.RunStatus.FAILED  # a dict is JSON text; the list is not
    assert isinstance(result.error, hc.JournalCodecError)
    assert str(result.error) == f"the result of step 'b': {fix}"


def test_empty_values_and_notes_are_stored_as_null(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    wf = hc.Workflow("gaps")
    wf.step("nothing", lambda: None)
    wf.step("zero", lambda: 0)
    wf.step("empty", lambda: "")
    wf.step("fails", lambda: 1 / 0)
    with hc.Hybrid({"runs": {"path": str(path)}}, entry_points=False) as system:
        result = system.run(wf)
        assert not result.ok
        steps = {row.path: row for row in system.journal.steps(result.run_id, values=True)}
    rows = sqlite3.connect(path).execute("SELECT path, state, value, note FROM events")
    stored = {path: (state, value, note) for path, state, value, note in rows}
    # A function step has no provider and a success no error: NULL, as is no value at all.
    assert stored["nothing"] == ("succeeded", "null", None)
    assert stored["zero"] == ("succeeded", "0", None)
    assert stored["empty"] == ("succeeded", '""', None)
    assert stored["fails"][0] == "failed" and stored["fails"][1] is None
    assert "ZeroDivisionError" in stored["fails"][2]
    assert steps["zero"].provider is None and steps["fails"].error


def test_nested_steps_resume_by_path_inside_compose_switch_and_map(tmp_path: Path) -> None:
    calls: list[str] = []

    def mark(name: str) -> Any:
        def body(x: int, context: hc.ExecutionContext) -> int:
            calls.append(context.path)
            if context.path == "route:refund/charge" and calls.count(context.path) == 1:
                raise hc.Halt("approve the refund")
            return x + 1

        body.__name__ = name
        return body

    inner = hc.Workflow("inner", inputs=["x"])
    inner.step("one", mark("one"), x=hc.input("x"))
    inner.step("two", mark("two"), x=hc.result("one"))
    inner.returns(hc.result("two"))
    refund = hc.Workflow("refund", inputs=["x"])
    refund.step("charge", mark("charge"), x=hc.input("x"))
    refund.returns(hc.result("charge"))
    wf = hc.Workflow("nested")
    wf.compose("sub", inner, x=hc.value(1))
    wf.map("each", inner, over=hc.value([10, 20]), item="x")
    wf.switch(
        "route", on=hc.value("refund"), branches={"refund": refund}, x=hc.result("sub")
    )
    wf.returns({"sub": hc.result("sub"), "each": hc.result("each"), "r": hc.result("route")})
    path = tmp_path / "j.sqlite3"
    with hc.Hybrid(entry_points=False, journal=path) as system:
        halted = system.run(wf)
    assert halted.status is hc.RunStatus.HALTED
    first = list(calls)
    assert set(first) == {
        "sub/one", "sub/two", "each[0]/one", "each[0]/two", "each[1]/one", "each[1]/two",
        "route:refund/charge",
    }  # fmt: skip
    with hc.Hybrid(entry_points=False, journal=path) as system:
        done = system.resume(halted.run_id, workflow=wf)
    assert done.ok and done.value == {"sub": 3, "each": [12, 22], "r": 4}
    assert calls[len(first) :] == ["route:refund/charge"]


def test_two_resumes_of_one_run_at_once_exactly_one_wins(tmp_path: Path) -> None:
    folder = _flow_dir(tmp_path)
    env = {"PAUSE": "0.5", "N": "8"}
    first = _cli(folder, "run", "slowflow:wf", "-q", **env)
    run_id = _wait_for_run(folder)
    first.send_signal(signal.SIGKILL)
    first.wait()
    both = [_cli(folder, "resume", run_id, "-q", **env) for _ in range(2)]
    outcomes = sorted((p.wait(timeout=120), p.communicate()[1]) for p in both)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert f"run {run_id} is being run by" in outcomes[1][1]


def test_a_run_without_a_configuration_resumes_on_the_defaults_anywhere(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (here / ".git").mkdir()
    (here / "slowflow.py").write_text(FLOW)
    env = {"PYTHONPATH": str(here), "PAUSE": "0.5", "N": "6"}
    first = _cli(here, "run", "slowflow:wf", "-q", **env)
    run_id = _wait_for_run(here)
    first.send_signal(signal.SIGKILL)
    first.wait()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".git").mkdir()
    (elsewhere / "hybrid.toml").write_text("[routing]\nstrategy = 3\n")  # not valid
    journal = str(here / ".hybrid" / "runs.sqlite3")
    resumed = run_hybrid(
        "resume", run_id, "--journal", journal, "--json", cwd=elsewhere,
        env={"PYTHONPATH": str(here), "PAUSE": "0", "N": "6"},
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["value"] == list(range(6))


def test_a_read_only_configuration_folder_runs_unjournaled_with_a_warning(
    tmp_path: Path,
) -> None:
    folder = _flow_dir(tmp_path)
    folder.chmod(0o555)
    try:
        done = run_hybrid(
            "run", "slowflow:wf", cwd=folder, env={"PYTHONPATH": str(folder)}, honour_modes=True
        )
        named = run_hybrid(
            "run", "slowflow:wf", "--journal", str(folder / "j.sqlite3"), cwd=folder,
            env={"PYTHONPATH": str(folder)}, honour_modes=True,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert "warning: this run is not journaled" in done.stderr
    assert f"{folder / '.hybrid'}" in done.stderr
    assert not (folder / ".hybrid").exists()
    assert named.returncode == 2  # asked for by name: an error, not a warning
    assert "cannot be written here" in named.stderr


def test_a_file_claiming_the_schema_without_its_tables_is_refused_by_name(
    tmp_path: Path,
) -> None:
    odd = tmp_path / "odd.sqlite3"
    con = sqlite3.connect(odd)
    con.execute("CREATE TABLE events (run INTEGER, kind TEXT)")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with pytest.raises(hc.JournalError, match="its tables are not this version's"):
        _one_step_run(odd)


@pytest.mark.parametrize("count", [1, 2, 131, 250])
def test_rows_committed_together_come_back_whole_and_in_order(tmp_path: Path, count: int) -> None:
    journal = hc.Journal(tmp_path / "j.sqlite3")
    writer = journal.begin(
        "r1", workflow="w", fingerprint="f", step_prints={}, inputs="{}", total=count
    )
    for i in range(count):
        writer.add(f"s{i}", "outcome", 1, "succeeded", "p", json.dumps([i, "x"]), None, 0.5)
    writer.intent("late", 2)  # an attempt still running: its intent row goes in too
    writer.flush()
    assert writer.durable == writer.seq == count + 1
    rows = journal.steps("r1", values=True)
    assert [(r.path, r.kind, r.value) for r in rows[:-1]] == [
        (f"s{i}", "outcome", [i, "x"]) for i in range(count)
    ]
    assert [r.seq for r in rows] == list(range(1, count + 2))
    assert (rows[-1].path, rows[-1].kind, rows[-1].attempt) == ("late", "intent", 2)
    journal.close()
