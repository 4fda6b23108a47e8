"""CLI verbs that say what the plugins and the configuration made available:
``workflows`` and ``list KIND``."""

from __future__ import annotations

import json
from typing import Any

import click

from .._core.records import ProviderKind
from .._system import Hybrid
from .app import _emit_json, _options, _system, _table, global_options, handle_errors

__all__ = ["list_", "workflows"]

KINDS = ("engines", "strategies", "sinks", "executors", "codecs", "workflows")


@click.command()
@global_options
@handle_errors
def workflows() -> None:
    """List every workflow you can run, with its origin, description and inputs.

    The origin is the plugin that ships it, or the configuration file that declares it.
    An input without a default is required ('hybrid run NAME --input KEY=VALUE').

    \b
    Examples:
      hybrid workflows
      hybrid workflows --json
    """
    opts = _options()
    with _system(opts) as system:
        listing = system.declared_workflows()
    if opts.json:
        _emit_json(listing)
        return
    if not listing:
        click.echo("no workflow is registered; install a plugin that ships one (such as "
                   "hybrid-core-review) or declare [workflows.NAME] in hybrid.toml")  # fmt: skip
        return
    for i, entry in enumerate(listing):
        click.echo(("\n" if i else "") + f"{entry['name']}  ({_origin(entry)})")
        if entry["description"]:
            click.echo(f"  {entry['description']}")
        for spec in entry["inputs"]:
            click.echo(f"  --input {spec['name']}=...  {_input(spec)}")


def _origin(entry: dict[str, Any]) -> str:
    origin = entry["origin"]
    who = "the configuration" if origin == "config" else f"plugin {origin}"
    return f"{who}, {entry['file']}" if entry["file"] else who


def _input(spec: dict[str, Any]) -> str:
    shown = "required" if spec["required"] else f"default {json.dumps(spec['default'])}"
    return f"{shown}; {spec['description']}" if spec["description"] else shown


@click.command("list")
@click.argument("kind", type=click.Choice(KINDS), metavar="KIND")
@global_options
@handle_errors
def list_(kind: str) -> None:
    """List what is registered of one KIND, with the plugin it came from.

    KIND is one of engines, strategies, sinks, executors, codecs, workflows. Sinks are
    those attached: a plugin gives its sink when '[telemetry] sinks' names it.

    \b
    Examples:
      hybrid list strategies
      hybrid list engines --json
      hybrid -p my_plugin list sinks
    """
    opts = _options()
    with _system(opts) as system:
        rows = system.declared_workflows() if kind == "workflows" else _rows(system, kind)
    if opts.json:
        _emit_json(rows)
        return
    if not rows:
        click.echo(f"no {kind} are registered")
        return
    header = [k for k in rows[0] if k not in ("inputs", "capabilities")]
    if kind == "engines":
        header.append("capabilities")
    _table(header, [[_cell(r[k]) for k in header] for r in rows])


def _rows(system: Hybrid, kind: str) -> list[dict[str, Any]]:
    if kind == "engines":
        return [
            {
                "name": p.name,
                "plugin": p.origin,
                "version": getattr(p.target, "version", None),
                "max_concurrency": getattr(p.target, "max_concurrency", None),
                "capabilities": dict(p.capabilities),
            }
            for p in sorted(system.registry.of_kind(ProviderKind.ENGINE), key=lambda p: p.name)
        ]
    rows: list[dict[str, Any]] = [
        {"name": name, "plugin": plugin} for name, plugin in system.provided(kind)
    ]
    if kind == "executors":
        for row in rows:
            row["chosen"] = row["name"] == system.executor.name
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    return "-" if value is None else str(value)
