"""CLI verbs about the configuration: ``validate`` and ``config show``."""

from __future__ import annotations

import json
import sys
from typing import Any

import attrs
import click

from .._config.compose import Composed, compose_mapping
from ..exceptions import ConfigError, ConfigProblem
from .app import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Options,
    _config,
    _emit_json,
    _new_system,
    _options,
    config_path,
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
    the plugins, and resolves every name the file uses (strategies, executor, sinks,
    engines, capabilities, workflows, module:function) against what they provide.
    Problems in the file and problems in the environment (plugins that failed to load)
    are listed apart. Exit 0 when valid (a run will not fail on configuration); 2 when
    the file has problems; 1 when the file may be right but cannot be run here, because
    a plugin that failed to load may have provided a name it uses.

    \b
    Examples:
      hybrid validate --config examples/review/hybrid.toml
      hybrid validate --profile ci --json
    """
    opts = _options()
    used = config_path(opts)
    shown = str(used.resolve()) if used is not None else None
    try:
        verdict = _validate(opts)
    except ConfigError as exc:  # the file could not even be read and checked
        verdict = _Verdict([str(p) for p in exc.problems], [], [], [])
    if opts.json:
        _emit_json({"config": shown, **verdict.to_dict()})
    else:
        verdict.print(shown or "(no configuration file: the defaults)")
    sys.exit(verdict.exit_code)


@attrs.frozen
class _Verdict:
    """What ``validate`` found: the file's problems apart from the environment's."""

    file: list[str]
    environment: list[str]  # names a failed plugin may have provided; workflow gaps
    failed: list[str]  # one line per plugin that failed to load
    workflows: list[str]

    @property
    def exit_code(self) -> int:
        if self.file:
            return EXIT_USAGE
        return EXIT_FAILED if self.environment else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.exit_code == EXIT_OK,
            "workflows": self.workflows,
            "problems": self.file,
            "environment": [*self.failed, *self.environment],
        }

    def print(self, source: str) -> None:
        if self.file:
            click.echo(f"problems in the configuration ({len(self.file)}):", err=True)
            for line in self.file:
                click.echo(line, err=True)
        env = [*self.failed, *self.environment]
        if env:
            click.echo(f"problems in the environment ({len(env)}): plugins that failed to "
                       "load, and what they may have provided", err=True)  # fmt: skip
            for line in env:
                click.echo(line, err=True)
        names = ", ".join(self.workflows) or "none"
        if self.file:
            click.echo(f"{source} is not valid: {len(self.file)} problem(s) in the file")
        elif self.environment:
            click.echo(
                f"{source} is not valid here: a plugin that failed to load may have "
                "provided a name it uses; fix the plugins ('hybrid doctor') and validate "
                "again"
            )
        elif self.failed:
            click.echo(
                f"{source} is valid; workflows: {names} (no name it uses needs the "
                f"{len(self.failed)} plugin(s) that failed to load)"
            )
        else:
            click.echo(f"{source} is valid; workflows: {names}")


def _validate(opts: Options) -> _Verdict:
    system = _new_system(opts)
    fatal: list[ConfigProblem] = []
    workflows: list[str] = []
    gaps: list[str] = []
    try:
        system.start()
    except ConfigError as exc:
        fatal = list(exc.problems)
    try:
        if system.running:
            workflows = [p.name for p in system.registry.all() if p.origin == "config"]
            gaps = [f"workflows.{n}: {gap}" for n in workflows
                    for gap in system.missing(system.workflow(n))]  # fmt: skip
    finally:
        system.close()
    suspect = {u.problem for u in system.unresolved if u.suspects}
    file = [p for p in fatal if p not in suspect]
    file += [u.problem for u in system.unresolved if not u.suspects and u.problem not in fatal]
    environment = [str(u.problem) for u in system.unresolved if u.suspects]
    failed = [f"plugin {r.name!r} failed to load: {_own(r.error, r.name)}" for r in system.failures]
    return _Verdict([str(p) for p in file], [*environment, *gaps], failed, workflows)


def _own(error: str | None, name: str) -> str:
    return (error or "").removeprefix(f"plugin {name!r}: ")


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
