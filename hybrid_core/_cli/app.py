"""The ``hybrid`` command line. Importing ``hybrid_core`` never imports this module.

Exit codes: 0 success, 1 a workflow failed or ``doctor`` found a problem, 2 usage or
configuration error. User errors print one line (``error: ...``); ``-v`` adds tracebacks.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import platform
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

import hybrid_core

from .._config.load import Config, find_config, load_config

# The library disables its logger when this module first loads; -v enables it after.
from .._core.log import logger
from .._journal import Journal
from .._plugins.manager import SLOW_IMPORT_SECONDS
from .._system import Hybrid, journal_at
from .._telemetry.bus import Sink
from ..exceptions import ConfigError, HybridCoreError
from .health import HEALTH_TIMEOUT, engine_health
from .health import summary as health_summary
from .interrupt import Stopped, exit_code, stop_on_signals

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Options:
    """Global options, settable before or after the verb (``hybrid -v plugins`` or
    ``hybrid plugins -v``)."""

    def __init__(self) -> None:
        self.config: Path | None = None
        self.json = False
        self.verbose = 0
        self.quiet = False
        self.strict = False
        self.profile: str | None = None
        self.plugin_modules: list[str] = []  # -p MODULE, in the order given


def _set(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        opts = ctx.ensure_object(Options)
        if name == "plugin_modules":
            opts.plugin_modules += [m for m in value if m not in opts.plugin_modules]
        elif value not in (None, False, 0):
            if name == "verbose":
                opts.verbose += value
            else:
                setattr(opts, name, value)
            if name == "json":
                _keep_stdout_for_json(ctx)
            if name == "verbose" and not opts.quiet:
                # Here, not in the group's callback: -v may come after the verb.
                logger.enable("hybrid_core")
        return value

    return callback


_MACHINE = "hybrid.machine_output"


def _keep_stdout_for_json(ctx: click.Context) -> None:
    """With ``--json``, stdout carries the command's JSON and nothing else.

    Whatever else writes to stdout (a plugin's ``print`` at import or in a hook, a worker
    process, a C extension) goes to stderr instead: file descriptor 1 is pointed at
    stderr, and the JSON is written to a duplicate of the original stdout. Put back when
    the command ends.
    """
    if ctx.meta.get(_MACHINE) is not None:
        return
    stdout = sys.stdout
    try:
        fd = stdout.fileno()
        err_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's buffer)
        sys.stdout = sys.stderr
        ctx.meta[_MACHINE] = stdout
        ctx.call_on_close(lambda: setattr(sys, "stdout", stdout))
        return
    stdout.flush()
    machine = os.fdopen(os.dup(fd), "w", encoding="utf-8")
    os.dup2(err_fd, fd)
    ctx.meta[_MACHINE] = machine

    def restore() -> None:
        machine.flush()
        stdout.flush()
        os.dup2(machine.fileno(), fd)
        machine.close()

    ctx.call_on_close(restore)


def global_options(fn: F) -> F:
    """Attach the global options to a group or a verb."""
    decorators = [
        click.option(
            "--config",
            "config",
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_set("config"),
            help="Config file (default: the nearest "
            "hybrid.toml, or pyproject.toml with [tool.hybrid]).",
        ),
        click.option(
            "--json",
            "json",
            is_flag=True,
            expose_value=False,
            callback=_set("json"),
            help="Print machine-readable JSON.",
        ),
        click.option(
            "-v",
            "--verbose",
            count=True,
            expose_value=False,
            callback=_set("verbose"),
            help="More output; tracebacks on errors.",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            expose_value=False,
            callback=_set("quiet"),
            help="Less output.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            expose_value=False,
            callback=_set("strict"),
            help="Treat any plugin failure as an error.",
        ),
        click.option(
            "--profile",
            "profile",
            metavar="NAME",
            expose_value=False,
            callback=_set("profile"),
            help="Apply the [profile.NAME] overlay of the configuration.",
        ),
        click.option(
            "-p",
            "--plugin",
            "plugin_modules",
            metavar="MODULE",
            multiple=True,
            expose_value=False,
            callback=_set("plugin_modules"),
            help="Load the plugin module MODULE (importable from here or sys.path), "
            "installed or not. Repeatable.",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _options() -> Options:
    return click.get_current_context().ensure_object(Options)


class UsageFailure(Exception):
    """A user error: printed as one line, exit code 2."""


class JournalUnavailable(UsageFailure):
    """The default journal's place cannot be written (a read-only folder): the run goes
    on unjournaled, with a warning, rather than not at all."""


def config_path(opts: Options) -> Path | None:
    """The configuration file the options name, or the one discovered, or None."""
    return opts.config or find_config()


def _config(opts: Options) -> Config:
    path = config_path(opts)
    if path is not None:
        return load_config(path, profile=opts.profile)
    if opts.profile:
        raise UsageFailure(
            f"--profile {opts.profile!r} needs a configuration file; none was given with "
            "--config nor found (hybrid.toml, or pyproject.toml with [tool.hybrid])"
        )
    return Config()


def _new_system(
    opts: Options,
    *,
    sinks: Sequence[Sink] = (),
    journal: Journal | bool = False,
    config: Config | None = None,
) -> Hybrid:
    """The system the options describe, not started yet (journaled only when asked)."""
    config = _config(opts) if config is None else config
    plugins = import_plugin_modules(opts.plugin_modules)
    return Hybrid(config, plugins=plugins, strict=opts.strict or None, sinks=sinks, journal=journal)


def import_plugin_modules(names: Sequence[str]) -> list[object]:
    """The modules ``-p`` names, imported as ``python -m`` would find them: the current
    folder first, then ``sys.path``. One that does not import is a usage error."""
    if not names:
        return []
    import importlib

    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
    modules: list[object] = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:  # noqa: BLE001 - any failure of the module is the user's
            why = f"{type(exc).__name__}: {exc}"
            raise UsageFailure(
                f"-p {name}: the plugin module does not import ({why}); it must be "
                "importable from the current folder or sys.path (a module name such as "
                "acme_plugin, not a file path)"
            ) from None
    return modules


DEFAULT_JOURNAL = Path(".hybrid") / "runs.sqlite3"


def journal_path(opts: Options, config: Config, given: Path | None) -> Path:
    """Where the CLI journals runs: ``--journal``, else ``[runs] path``, else
    ``.hybrid/runs.sqlite3`` beside the configuration file (or in the current folder)."""
    if given is not None:
        return given
    used = config_path(opts)
    base = used.resolve().parent if used is not None else Path.cwd()
    if config.runs.path is not None:
        return base / Path(config.runs.path).expanduser()
    return base / DEFAULT_JOURNAL


def open_journal(
    opts: Options, given: Path | None, *, create: bool, config: Config | None = None
) -> Journal:
    """The journal the options point at; with ``create``, its folder is made if missing."""
    config = _config(opts) if config is None else config
    path = journal_path(opts, config, given)
    default = given is None and config.runs.path is None
    if create and default:
        try:
            path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise JournalUnavailable(f"cannot create {path.parent}: {exc.strerror}") from None
        if not os.access(path.parent, os.W_OK):
            raise JournalUnavailable(f"{path.parent} is not writable")
    if not create and not path.exists():
        raise UsageFailure(
            f"no run journal at {path}: no run has been journaled here yet (hybrid run "
            "journals each run; --journal FILE names another journal)"
        )
    return journal_at(path, config.runs)


@contextmanager
def _system(opts: Options, *, sinks: Sequence[Sink] = ()) -> Iterator[Hybrid]:
    with _new_system(opts, sinks=sinks) as system:
        yield system


def handle_errors(fn: F) -> F:
    """Turn user errors into one line and an exit code; show tracebacks with -v."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = _options()
        try:
            return fn(*args, **kwargs)
        except (ConfigError, UsageFailure, HybridCoreError) as exc:
            if opts.verbose:
                traceback.print_exc()
            prefix = "error: " if not isinstance(exc, ConfigError) else "configuration error:\n"
            click.echo(f"{prefix}{exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def _emit_json(data: Any) -> None:
    ctx = click.get_current_context(silent=True)
    out = ctx.meta.get(_MACHINE) if ctx is not None else None
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str), file=out)


class _Verbs(click.Group):
    """The top-level group; verbs defined in other modules load when first named.

    Those modules import this one's helpers, so they cannot be imported from here at
    import time; loading them on demand also keeps ``hybrid --help`` fast.
    """

    LAZY: ClassVar[dict[str, str]] = {
        "run": "run", "graph": "run", "plan": "run",
        "validate": "config", "config": "config",
        "trace": "trace", "explain": "trace",
        "runs": "runs", "resume": "runs",
        "workflows": "listing", "list": "listing",
        "new": "new",
    }  # fmt: skip

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            import importlib

            module = importlib.import_module(f"hybrid_core._cli.{self.LAZY[cmd_name]}")
            # A verb named like a builtin ("list") is defined as NAME_.
            self.add_command(getattr(module, cmd_name, None) or getattr(module, f"{cmd_name}_"))
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.short_help is None and command.help:
            # click cuts the listing's text to fit with "..."; say the first sentence whole.
            first = " ".join(command.help.split("\n\n", 1)[0].split())
            command.short_help = first.split(". ", 1)[0].rstrip(".") + "."
        return command


@click.group(cls=_Verbs, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.version_option(hybrid_core.__version__, prog_name="hybrid")
def cli() -> None:
    """Run hybrid workflows across engines supplied by plugins.

    \b
    Examples:
      hybrid plugins            list installed plugins and their status
      hybrid capabilities       list capabilities and who provides them
      hybrid workflows          list the workflows you can run
      hybrid doctor             check the environment and the plugins
    """
    opts = _options()
    if opts.verbose and not opts.quiet:
        logger.enable("hybrid_core")


@cli.command()
@global_options
@handle_errors
def plugins() -> None:
    """List every plugin with its distribution, version, hooks and status.

    \b
    Example:
      hybrid plugins --json
    """
    opts = _options()
    with _system(opts) as system:
        records = system.plugins
    if opts.json:
        _emit_json([r.to_dict() for r in records])
        return
    rows = [
        (
            r.name,
            r.distribution or f"({r.source})",
            r.version or "-",
            r.status,
            ", ".join(h.removeprefix("hybrid_") for h in r.hooks) or "-",
        )
        for r in records
    ]
    _table(("plugin", "distribution", "version", "status", "hooks"), rows)
    for record in records:
        if record.status != "loaded" and record.error and not opts.quiet:
            click.echo(f"\n{record.name} {record.status}: {record.error}", err=True)


@cli.command()
@global_options
@handle_errors
def capabilities() -> None:
    """List each capability with its providers, best first.

    \b
    Example:
      hybrid capabilities --json
    """
    opts = _options()
    with _system(opts) as system:
        listing: list[dict[str, Any]] = [
            {
                "capability": cap,
                "providers": [
                    {
                        "kind": p.kind.value,
                        "name": p.name,
                        "priority": p.priority(cap),
                        "origin": p.origin,
                        "version": getattr(p.target, "version", None),
                        "description": getattr(p.target, "description", None) or "",
                    }
                    for p in system.registry.providers(cap)
                ],
            }
            for cap in system.registry.capabilities()
        ]
    if opts.json:
        _emit_json(listing)
        return
    if not listing:
        click.echo("no capability is provided; install a plugin such as hybrid-core-pyast")
        return
    rows = []
    for entry in listing:
        for i, p in enumerate(entry["providers"]):
            rows.append(
                (
                    entry["capability"] if i == 0 else "",
                    p["name"],
                    p["kind"],
                    str(p["priority"]),
                    p["origin"],
                    p["version"] or "-",
                    p["description"],
                )
            )
    _table(("capability", "provider", "kind", "priority", "plugin", "version", "description"), rows)


@cli.command()
@click.option(
    "--health-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=HEALTH_TIMEOUT,
    show_default=True,
    help="Seconds the engines' health checks may take, together.",
)
@global_options
@handle_errors
def doctor(health_timeout: float) -> None:
    """Check the environment, the configuration, the plugins and each engine's health
    check; exit 1 on any problem.

    \b
    Example:
      hybrid doctor --config hybrid.toml
    """
    opts = _options()
    with _system(opts) as system:
        report = _diagnose(system, config_path(opts))
        report["engines"], unhealthy = engine_health(system, health_timeout)
        if unhealthy:
            report["problems"] += unhealthy
            report["healthy"] = False
        open_problems = len(system.problems)
    closing = system.problems[open_problems:]  # shutdown hooks, engines, executors
    if closing:
        report["problems"] += closing
        report["healthy"] = False
    if opts.json:
        _emit_json(report)
    else:
        _print_report(report)
    sys.exit(EXIT_OK if report["healthy"] else EXIT_FAILED)


def _diagnose(system: Hybrid, config_file: Path | None) -> dict[str, Any]:
    failed = [r.to_dict() for r in system.failures]
    from .._core.records import ProviderKind

    gaps = [
        f"workflow {p.name!r}: {gap}"
        for p in system.registry.of_kind(ProviderKind.WORKFLOW)
        for gap in system.missing(p.target)
    ]
    executor, trouble = _describe_executor(system)
    duplicates = [
        r
        for r in failed
        if "registered by both" in (r["error"] or "") or "already provided by" in (r["error"] or "")
    ]
    return {
        "environment": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "hybrid_core": hybrid_core.__version__,
            "executable": sys.executable,
            "config": str(config_file) if config_file else None,
        },
        "plugins": len(system.plugins),
        "providers": len(system.registry),
        "capabilities": len(system.registry.capabilities()),
        "failed_plugins": failed,
        "duplicate_names": duplicates,
        "executor": executor,
        "problems": [*system.problems, *gaps, *trouble],
        "sink_failures": dict(system.telemetry.sink_failures),
        "slow_plugins": [
            {"name": r.name, "import_seconds": round(r.import_seconds or 0.0, 3)}
            for r in system.plugins
            if r.slow
        ],
        "healthy": not failed and not system.problems and not gaps and not trouble,
    }


def _describe_executor(system: Hybrid) -> tuple[dict[str, Any], list[str]]:
    """What the chosen executor says it runs on (its optional ``describe()``), or why
    it cannot say (a cluster that does not answer)."""
    executor = system.executor
    info: dict[str, Any] = {"name": executor.name}
    describe = getattr(executor, "describe", None)
    if not callable(describe):
        return info, []
    try:
        found = describe()
        if inspect.isawaitable(found):
            awaited = found
            found = system._sync(lambda: awaited)
        info.update(found)
    except Exception as exc:  # noqa: BLE001 - reported, like any other problem
        return info, [f"executor {executor.name!r}: {type(exc).__name__}: {exc}"]
    return info, []


def warn_about_plugins(system: Hybrid, closing: Sequence[str] = ()) -> None:
    """One line on stderr per plugin that failed, and per problem met while closing."""
    for record in system.failures:
        click.echo(
            f"warning: plugin {record.name!r} failed to load and was left out: {record.error} "
            "('hybrid doctor' checks every plugin)",
            err=True,
        )
    for problem in closing:
        click.echo(f"warning: while closing: {problem}", err=True)


def _print_report(report: dict[str, Any]) -> None:
    env = report["environment"]
    click.echo(f"python       {env['python']} ({env['implementation']}) on {env['platform']}")
    click.echo(f"hybrid_core  {env['hybrid_core']}")
    click.echo(f"config       {env['config'] or '(none found; defaults)'}")
    click.echo(
        f"plugins      {report['plugins']}, providers {report['providers']}, "
        f"capabilities {report['capabilities']}"
    )
    executor = dict(report["executor"])
    name = executor.pop("name")
    details = ", ".join(f"{k} {_shown(v)}" for k, v in executor.items())
    click.echo(f"executor     {name}" + (f" ({details})" if details else ""))
    if report["engines"]:
        click.echo(f"health       {health_summary(report['engines'])}")
    for record in report["failed_plugins"]:
        click.echo(
            f"FAILED plugin {record['name']} ({record['distribution'] or record['source']}): "
            f"{record['error']}"
        )
    for problem in report["problems"]:
        click.echo(f"PROBLEM {problem}")
    for slow in report["slow_plugins"]:
        click.echo(
            f"SLOW plugin {slow['name']} took {slow['import_seconds']:.2f} s to import "
            f"(over {SLOW_IMPORT_SECONDS} s; every command pays it)"
        )
    click.echo("healthy" if report["healthy"] else "problems found")


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}" if value else "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        with stop_on_signals():
            code = cli.main(args=argv, prog_name="hybrid", standalone_mode=False)
    except Stopped as stopped:
        click.echo("interrupted" if stopped.signum == signal.SIGINT else "terminated", err=True)
        sys.exit(exit_code(stopped.signum))
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "hybrid"
        click.echo(f"error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:  # a prompt's Ctrl-D; click has ended the line already
        click.echo("aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
