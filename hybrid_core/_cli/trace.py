"""The ``hybrid trace`` and ``hybrid explain`` verbs.

``trace`` reads a recording (``hybrid run ... --trace run.jsonl``) and prints its
timeline, or writes it as a self-contained HTML page; ``explain`` says which provider
the router would choose for a capability now, and why.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .app import UsageFailure, _emit_json, _options, _system, _table, global_options, handle_errors

if TYPE_CHECKING:
    from .._trace.reader import Trace
    from .._trace.spans import Span

__all__ = ["explain", "trace"]


def _can_draw() -> bool:
    """True when stdout can encode the block characters the bars are drawn with."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "█▒▓░─▚".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _span_dict(span: Span, marked: set[str]) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "trace_id": span.trace_id,
        "kind": span.kind,
        "name": span.name,
        "start": span.start,
        "end": span.end,
        "duration": span.duration,
        "status": span.status,
        "critical": span.span_id in marked,
        "attributes": span.attributes,
        "notes": [n.to_dict() for n in span.notes],
        "children": [_span_dict(c, marked) for c in sorted(span.children, key=lambda s: s.start)],
    }


def _trace_json(found: Trace) -> dict[str, Any]:
    from .._trace.reader import critical_path

    marked = critical_path(found)
    return {
        "files": found.files,
        "header": found.header,
        "problems": found.problems,
        "summary": found.summary(),
        "spans": [_span_dict(r, marked) for r in sorted(found.roots, key=lambda s: s.start)],
    }


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the timeline as a self-contained HTML page instead of printing it.",
)
@click.option("--width", type=click.IntRange(min=40), help="Columns to use (default: terminal).")
@click.option("--ascii", "ascii_only", is_flag=True, help="Draw the bars with ASCII characters.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Leave out rows nested deeper than this (0: the runs only).",
)
@click.option(
    "--filter",
    "match",
    metavar="TEXT",
    help="Only rows whose label contains TEXT, with the rows they sit in.",
)
@click.option(
    "--expand",
    is_flag=True,
    help="A row for every element run of a map step instead of one per step.",
)
@global_options
@handle_errors
def trace(
    files: tuple[Path, ...],
    html_path: Path | None,
    width: int | None,
    ascii_only: bool,
    depth: int | None,
    match: str | None,
    expand: bool,
) -> None:
    """Show a recorded run as a timeline: steps, engine calls, routing decisions.

    FILES is a trace written by 'hybrid run ... --trace FILE' (or by the jsonl sink);
    the rotated parts of one recording are found on their own. Rows on the critical
    path are marked with '*'; each routing decision shows its reason.

    The runs of a map step's elements are folded into one row with their count (those
    that did not succeed keep their own rows); --expand shows them all.

    \b
    Examples:
      hybrid trace run.jsonl
      hybrid trace run.jsonl --depth 2 --width 100
      hybrid trace run.jsonl --filter files[12] --expand
      hybrid trace run.jsonl --html run.html
    """
    # The trace modules load with this verb, not with every 'hybrid' command.
    from .._trace.html import render_html
    from .._trace.reader import read_trace
    from .._trace.text import problems_text, render_timeline

    opts = _options()
    found = read_trace(*files)
    if not opts.quiet:
        for line in problems_text(found.problems):
            click.echo(line, err=True)
    if html_path is not None:
        title = f"hybrid trace: {files[-1].name}"
        html_path.write_text(render_html(found, title), encoding="utf-8")
        if opts.json:
            _emit_json({"html": str(html_path), "problems": found.problems})
        elif not opts.quiet:
            click.echo(f"wrote {html_path} ({sum(1 for _ in found.spans())} spans)")
        return
    if opts.json:
        _emit_json(_trace_json(found))
        return
    columns = width or shutil.get_terminal_size((120, 24)).columns
    click.echo(render_timeline(
        found, width=columns, unicode=_can_draw() and not ascii_only, depth=depth, match=match,
        expand=expand,
    ))  # fmt: skip


def _payload(text: str | None) -> Any:
    if text is None:
        return None
    import json

    source = "--payload"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageFailure(f"--payload {text}: cannot read {source}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageFailure(
            f"{source} is not valid JSON ({exc}); quote it for the shell, e.g. "
            '--payload \'{"source": "x = 1"}\''
        ) from None


# The router's breaker states, as a person reads them.
_STATE_WORDS = {"closed": "yes", "open": "cooling down", "half-open": "one probe call"}


def _explain_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for rank, name in enumerate(data["order"], 1):
        score = data["scores"].get(name)
        stats = data["stats"].get(name, {})
        rows.append(
            (
                str(rank),
                name,
                "-" if score is None else f"{score:.6g}",
                _STATE_WORDS.get(str(stats.get("state")), str(stats.get("state", "-"))),
                str(stats.get("in_flight", "-")),
                str(stats.get("calls", "-")),
                str(stats.get("failures", "-")),
                str(stats.get("latency_ms", "-")),
            )
        )
    return rows


@click.command()
@click.argument("capability")
@click.option("--payload", help="The request's payload as JSON, or @FILE to read it from a file.")
@click.option("--strategy", help="Use this routing strategy instead of the configured one.")
@global_options
@handle_errors
def explain(capability: str, payload: str | None, strategy: str | None) -> None:
    """Say which provider would serve CAPABILITY now, and why; calls nothing.

    Lists every candidate in the order the strategy put them, with its score and live
    statistics, and the providers left out because they are cooling down.

    \b
    Examples:
      hybrid explain python.complexity
      hybrid explain python.complexity --strategy least_loaded --payload '{"source": "x"}'
    """
    opts = _options()
    value = _payload(payload)
    with _system(opts) as system:
        data = system.explain(capability, value, strategy=strategy).to_dict()
    if opts.json:
        _emit_json(data)
        return
    click.echo(f"{capability}: {data['strategy']} would choose {data['choice']!r}")
    click.echo(f"reason: {data['reason']}\n")
    header = ("rank", "provider", "score", "available", "in flight", "calls", "failures",
              "latency ms")  # fmt: skip
    _table(header, _explain_rows(data))
    if not any(stats.get("calls") for stats in data["stats"].values()):
        click.echo(
            "\nThe statistics are this process's own, and this command has made no calls: "
            "scores that depend on them (latency, load, errors) are as for new providers. "
            "'hybrid trace' shows what a recorded run did."
        )
    left_out = [name for name in data["cooled"] if name not in data["order"]]
    if left_out:
        click.echo(f"\ncooling down, left out: {', '.join(left_out)}")
