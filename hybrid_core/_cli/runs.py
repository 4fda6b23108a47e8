"""CLI verbs on the run journal: ``runs`` (list, ``show``, ``prune``) and ``resume``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import click

from .._config.load import Config
from .._journal import Journal, RunRow
from .._system import Hybrid
from .app import (
    EXIT_OK,
    UsageFailure,
    _config,
    _emit_json,
    _options,
    _table,
    global_options,
    handle_errors,
    import_plugin_modules,
    open_journal,
)
from .run import _arun, _finish, _jsonable, _progress, _using

__all__ = ["resume", "runs"]

_JOURNAL = click.option(
    "--journal",
    "journal_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The run journal (default: .hybrid/runs.sqlite3 beside the config).",
)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _status(row: RunRow) -> str:
    if row.status in ("running", "rolling_back") and not row.owned:
        return "interrupted" if row.status == "running" else "interrupted rolling back"
    return row.status.replace("_", " ")


def _row_dict(row: RunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "workflow": row.workflow,
        "status": _status(row),
        "started": row.started,
        "finished": row.finished,
        "steps_done": row.done,
        "steps": row.total,
        "owner": row.owner if row.owned else None,
        "error": row.error,
    }


@click.group(invoke_without_command=True)
@_JOURNAL
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many runs, newest first.")  # fmt: skip
@global_options
@click.pass_context
@handle_errors
def runs(ctx: click.Context, journal_file: Path | None, limit: int) -> None:
    """List journaled runs, newest first: id, workflow, status, steps done, owner.

    \b
    Examples:
      hybrid runs
      hybrid runs show 20261202T021503-3f9a1c2b
      hybrid runs prune --keep 50
    """
    if ctx.invoked_subcommand is not None:
        return
    opts = _options()
    journal = open_journal(opts, journal_file, create=False)
    try:
        rows = journal.runs(limit=limit)
    finally:
        journal.close()
    if opts.json:
        _emit_json({"journal": str(journal.path), "runs": [_row_dict(r) for r in rows]})
        return
    if not rows:
        click.echo(f"no runs in {journal.path}")
        return
    _table(
        ("RUN", "WORKFLOW", "STATUS", "STARTED", "STEPS", "OWNER"),
        [
            (r.id, r.workflow, _status(r), _when(r.started), f"{r.done}/{r.total}",
             (r.owner or "-") if r.owned else "-")
            for r in rows
        ],
    )  # fmt: skip


def _journal_of(ctx: click.Context, journal_file: Path | None) -> Journal:
    parent = ctx.parent.params.get("journal_file") if ctx.parent is not None else None
    return open_journal(_options(), journal_file or parent, create=False)


@runs.command()
@click.argument("run_id")
@_JOURNAL
@global_options
@click.pass_context
@handle_errors
def show(ctx: click.Context, run_id: str, journal_file: Path | None) -> None:
    """Show one journaled run: every step's path, status, attempts and time."""
    opts = _options()
    journal = _journal_of(ctx, journal_file)
    try:
        row = journal.run(run_id)
        steps = journal.steps(run_id)
    finally:
        journal.close()
    latest: dict[str, Any] = {}
    for s in steps:
        if s.kind == "compensate":
            continue
        if s.kind == "intent":
            latest.setdefault(s.path, s)
            if latest[s.path].kind == "intent":
                latest[s.path] = s
        else:
            latest[s.path] = s
    items = [
        {
            "path": s.path,
            "status": ("interrupted" if s.kind == "intent" else s.status),
            "attempts": s.attempt,
            "provider": s.provider,
            "duration": s.duration,
            "error": s.error,
            "undo": s.kind == "undo",
        }
        for s in latest.values()
    ]
    if opts.json:
        _emit_json({
            **_row_dict(row), "inputs": _jsonable(row.inputs),
            "result": _jsonable(row.result), "steps": items,
        })  # fmt: skip
        return
    click.echo(
        f"run {row.id}: workflow {row.workflow!r}, {_status(row)}, {row.done} of {row.total} "
        f"steps done; started {_when(row.started)}"
        + (f", finished {_when(row.finished)}" if row.finished else "")
    )
    if row.error:
        click.echo(f"error: {row.error}")
    _table(
        ("STEP", "STATUS", "ATTEMPTS", "PROVIDER", "SECONDS"),
        [
            (i["path"], i["status"] or "-", str(i["attempts"]), i["provider"] or "-",
             f"{i['duration']:.3f}" if i["duration"] is not None else "-")
            for i in items
        ],
    )  # fmt: skip


@runs.command()
@_JOURNAL
@click.option("--keep", type=click.IntRange(min=0), help="Keep this many newest runs.")
@click.option("--keep-days", type=click.FloatRange(min=0), help="Keep runs this many days.")
@global_options
@click.pass_context
@handle_errors
def prune(
    ctx: click.Context, journal_file: Path | None, keep: int | None, keep_days: float | None
) -> None:
    """Delete runs beyond retention ([runs] keep and keep_days); never a run in progress."""
    opts = _options()
    journal = _journal_of(ctx, journal_file)
    try:
        gone = journal.prune(keep=keep, keep_days=keep_days)
    finally:
        journal.close()
    if opts.json:
        _emit_json({"journal": str(journal.path), "pruned": gone})
    elif not opts.quiet:
        click.echo(f"pruned {len(gone)} run(s) from {journal.path}")


@click.command()
@click.argument("run_id")
@_JOURNAL
@click.option("--force", is_flag=True,
              help="Resume even though the workflow's definition changed.")  # fmt: skip
@global_options
@handle_errors
def resume(run_id: str, journal_file: Path | None, force: bool) -> None:
    """Resume a journaled run: run only what did not complete; exit 1 if it fails.

    A crashed, killed, halted or failed run continues in this process; steps whose
    outcome was journaled are not run again. A run that succeeded is shown, not re-run.
    """
    opts = _options()
    if journal_file is not None:
        # Named: no configuration is read before the run says which one it used.
        if not journal_file.is_file():
            raise UsageFailure(f"no run journal at {journal_file}; check --journal FILE")
        journal = Journal(journal_file)
    else:
        journal = open_journal(opts, None, create=False)
    row = journal.run(run_id)
    if opts.config is None and row.meta.get("config"):
        recorded = Path(str(row.meta["config"]))
        if not recorded.is_file():
            raise UsageFailure(
                f"run {run_id} was started with configuration {recorded}, which is gone; "
                "pass --config FILE"
            )
        opts.config = recorded
    if opts.profile is None and row.meta.get("profile"):
        opts.profile = str(row.meta["profile"])
    spec = str(row.meta.get("spec") or row.workflow)
    if row.status == "succeeded":
        journal.close()
        if opts.json:
            _emit_json({**_row_dict(row), "result": _jsonable(row.result)})
        else:
            click.echo(f"run {run_id} had already succeeded; nothing to do")
            if row.result is not None and not opts.quiet:
                import json

                click.echo(json.dumps(_jsonable(row.result), indent=2))
        raise SystemExit(EXIT_OK)
    if opts.config is None and "config" in row.meta and row.meta["config"] is None:
        # The run used no configuration file: it resumes on the defaults too, whatever
        # file the current folder would lead to.
        config = Config()
    else:
        config = _config(opts)
    # The -p modules the run loaded load again, unless -p names others now.
    modules = opts.plugin_modules or list(row.meta.get("plugin_modules") or ())
    plugins = import_plugin_modules(modules)
    system = Hybrid(config, plugins=plugins, strict=opts.strict or None, journal=journal)
    system.run_meta.update(row.meta)
    if not opts.quiet:
        click.echo(_using(opts.config), err=True)
    outcome = asyncio.run(
        _arun(system, spec, {}, _progress(opts), None, None, resume=run_id, force_resume=force)
    )
    _finish(system, outcome, opts.config, opts)
