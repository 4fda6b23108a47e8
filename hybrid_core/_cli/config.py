"""CLI verbs about the configuration: ``validate`` and ``config show``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .._config.compose import Composed, compose_mapping
from .app import (
    EXIT_FAILED,
    EXIT_OK,
    _config,
    _emit_json,
    _options,
    _system,
    global_options,
    handle_errors,
)

__all__ = ["config", "validate"]


@click.command()
@global_options
@handle_errors
def validate() -> None:
    """Check the configuration and every workflow in it, without running anything.

    Reads the file (with its extends, profile and variables), checks every key, starts
    the plugins, and builds every declared workflow against the engines, capabilities
    and strategies they provide. Exit 0 when all is well, 2 listing every problem, 1 when
    a workflow needs a capability or engine that no plugin provides.

    \b
    Examples:
      hybrid validate --config examples/review/hybrid.toml
      hybrid validate --profile ci --json
    """
    opts = _options()
    with _system(opts) as system:
        names = [p.name for p in system.registry.all() if p.origin == "config"]
        gaps = {name: system.missing(system.workflow(name)) for name in names}
        failed = [r.to_dict() for r in system.failures]
    problems = [f"workflows.{n}: {gap}" for n, found in gaps.items() for gap in found]
    problems += [f"plugin {r['name']}: {r['error']}" for r in failed]
    if opts.json:
        _emit_json({"valid": not problems, "workflows": names, "problems": problems})
    else:
        source = system.config.source or "(no file: defaults)"
        for line in problems:
            click.echo(f"problem: {line}", err=True)
        verdict = "is valid" if not problems else f"has {len(problems)} problem(s)"
        click.echo(f"{source} {verdict}; workflows: {', '.join(names) or 'none'}")
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@click.option("--origin", is_flag=True, help="Say which file and key set each value.")
@global_options
@handle_errors
def show(origin: bool) -> None:
    """Print the configuration after extends, the profile and variables are applied.

    \b
    Examples:
      hybrid config show --origin
      hybrid config show --profile ci --json
    """
    opts = _options()
    loaded = _config(opts)
    composed = loaded.composed or compose_mapping({}, source="(defaults)")
    if opts.json:
        data: Any = composed.data
        if origin:
            data = {"values": composed.data, "origins": _origins(composed)}
        _emit_json(data)
        return
    click.echo(
        f"# {composed.source}" + (f", profile {composed.profile}" if composed.profile else "")
    )
    for key, value, where in composed.items():
        line = f"{key} = {json.dumps(value, default=str)}"
        click.echo(f"{line}  # {where}" if origin else line)


def _origins(composed: Composed) -> dict[str, str]:
    return {key: str(where) for key, _, where in composed.items()}
