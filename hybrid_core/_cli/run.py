"""CLI verbs that work on workflows: ``run``, ``graph``, ``plan``.

A WORKFLOW argument is the name of a workflow the system knows (from a plugin or the
configuration), or ``module:attribute`` naming a ``Workflow`` object in Python code.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import attrs
import click

from .._config.load import find_config, search_folders
from .._core.context import ExecutionContext
from .._core.records import ProviderKind
from .._core.util import close_matches
from .._execution.executor import LocalExecutor
from .._system import Hybrid, new_run_id
from .._telemetry.bus import Event
from .._telemetry.jsonl import JsonlSink
from .._workflow import RunResult, RunStatus, Workflow
from .._workflow.refs import ResultRef, iter_refs
from ..exceptions import PayloadError, describe_error
from .app import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    JournalUnavailable,
    Options,
    UsageFailure,
    _config,
    _emit_json,
    _new_system,
    _options,
    _system,
    config_path,
    global_options,
    handle_errors,
    open_journal,
    warn_about_plugins,
)
from .interrupt import Interrupts, exit_code
from .visual import to_dot, to_mermaid

__all__ = ["graph", "plan", "run"]


def resolve_workflow(system: Hybrid, spec: str) -> Workflow:
    """The workflow ``spec`` names: a registered name, or ``module:attribute``."""
    if ":" in spec:
        return _import_workflow(spec)
    try:
        return system.workflow(spec)
    except LookupError:
        raise UsageFailure(_no_such_workflow(system, spec)) from None


def _no_such_workflow(system: Hybrid, name: str) -> str:
    """Says which workflows there are (did you mean?) and which configuration was read."""
    known = sorted((p.name, p.origin) for p in system.registry.of_kind(ProviderKind.WORKFLOW))
    close = close_matches(name, [n for n, _ in known])
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(
        f"{n} ({'the configuration' if o == 'config' else f'plugin {o}'})" for n, o in known
    )
    there = f"known workflows: {listed}" if known else "no workflow is registered"
    failed = ", ".join(repr(r.name) for r in system.failures)
    why = "('hybrid plugins' says why)"
    suspects = f"; plugins that failed to load may have provided it: {failed} {why}"
    suspects = suspects if failed else ""
    return (
        f"no workflow is named {name!r}{hint}; {there}{suspects}; {_searched(_options())}; "
        "or give module:attribute of a Workflow in Python ('hybrid workflows' lists them)"
    )


def _searched(opts: Options) -> str:
    """Which configuration file the CLI read, or where it looked for one in vain."""
    if opts.config is not None:
        return f"configuration read: {opts.config.resolve()} (--config)"
    found = find_config()
    if found is not None:
        return f"configuration read: {found.resolve()} (found from the current folder)"
    folders = search_folders(Path.cwd().resolve())
    where = str(folders[0]) if len(folders) == 1 else f"{folders[0]} up to {folders[-1]}"
    return (
        "no configuration file was found (searched for hybrid.toml, and pyproject.toml "
        f"with [tool.hybrid], in {where})"
    )


def _import_workflow(spec: str) -> Workflow:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageFailure(f"cannot import {module_name!r} for workflow {spec!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed as it ran
        raise UsageFailure(
            f"importing {module_name!r} for workflow {spec!r} raised "
            f"{type(exc).__name__}: {exc}{_where_raised(exc, module_name)}; fix the module"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, Workflow):
        raise UsageFailure(
            f"{spec!r} is {type(obj).__name__}, not a hybrid_core.Workflow; name a Workflow object"
        )
    return obj


def _where_raised(exc: BaseException, module_name: str) -> str:
    """`` (at path:line)``: the innermost frame of ``exc`` in the module's own file."""
    spec = importlib.util.find_spec(module_name) if "." not in module_name else None
    origin = getattr(spec, "origin", None)
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if origin is None or code.co_filename == origin:
            where = f" (at {code.co_filename}:{tb.tb_lineno})"
        tb = tb.tb_next
    return where


def parse_inputs(pairs: tuple[str, ...], input_file: Path | None) -> dict[str, Any]:
    """Inputs from ``--input-file`` (a JSON object), then ``--input`` pairs.

    ``key=value`` passes the text as a string; ``key:=json`` parses the value as JSON.
    """
    inputs: dict[str, Any] = {}
    if input_file is not None:
        inputs.update(_read_input_file(input_file))
    for pair in pairs:
        if ":=" in pair and pair.index(":=") < pair.index("=") + 1:
            key, _, raw = pair.partition(":=")
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UsageFailure(
                    f"--input {pair!r}: the value after ':=' is not JSON ({exc})"
                ) from None
        elif "=" in pair:
            key, _, value = pair.partition("=")
        else:
            raise UsageFailure(f"--input {pair!r}: write key=value (text) or key:=json")
        if not key.isidentifier():
            raise UsageFailure(f"--input {pair!r}: {key!r} is not an input name")
        inputs[key] = value
    return inputs


def _read_input_file(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageFailure(f"--input-file {str(path)!r}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageFailure(f"--input-file {str(path)!r}: is not a JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise UsageFailure(f"--input-file {str(path)!r}: must hold a JSON object of inputs")
    return data


class Progress:
    """A live one-line progress display on a terminal: steps done/total, what runs, and
    for a map step its elements done/total with a rate and an estimate of the time left.

    It is a telemetry sink: it follows the top-level run's step events (and the element
    runs nested under a map step), and a timer redraws the line every ``interval``
    seconds, so it moves even while no event arrives. It erases its line when the run
    stops, so only the summary remains.
    """

    name = "progress"

    def __init__(self, stream: Any = None, *, interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.total = 0
        self.done = 0
        self.running: dict[str, None] = {}
        self.failed: list[str] = []
        # map step -> [elements, done, failed, started (monotonic)]
        self.maps: dict[str, list[float]] = {}
        self._span: str | None = None
        self._span_steps: dict[str, str] = {}  # a top-level step's span -> its name
        self._drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def handle(self, event: Event) -> None:
        with self._lock:
            if event.name == "run.start" and self._span is None:
                self._span = event.span_id
                self.total = int(event.attributes.get("steps", 0))
                self._start_timer()
                return
            if event.span_id == self._span and event.step is not None:
                self._top_level(event)
            elif event.name == "step.elements" and event.parent_span_id == self._span:
                if event.step is not None and event.span_id is not None:
                    self._span_steps[event.span_id] = event.step
                    elements = float(event.attributes.get("elements", 0))
                    self.maps[event.step] = [elements, 0.0, 0.0, time.monotonic()]
            elif event.name == "run.stop" and event.span_id != self._span:
                self._element_done(event)

    def _top_level(self, event: Event) -> None:
        step = event.step
        assert step is not None
        if event.name == "step.start":
            self.running[step] = None
        elif event.name in ("step.stop", "step.skip"):
            self.running.pop(step, None)
            self.done += 1
            if event.attributes.get("status") == "failed":
                self.failed.append(step)

    def _element_done(self, event: Event) -> None:
        """A nested run ended: count it when it is an element of a map step. An element's
        run sits in the element's context (``each[3]``), inside the step's: the step's
        span is third in its lineage; runs nested deeper belong to an element."""
        lineage = event.lineage
        step = self._span_steps.get(lineage[2][0]) if len(lineage) > 2 else None
        if step is not None:
            counts = self.maps[step]
            counts[1] += 1
            counts[2] += event.attributes.get("status") == "failed"

    def _start_timer(self) -> None:
        self._timer = threading.Thread(target=self._tick, name="hybrid-progress", daemon=True)
        self._timer.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                line = self.line()
                self.stream.write("\r\x1b[2K" + line)
                self.stream.flush()
                self._drawn = True

    def line(self, now: float | None = None) -> str:
        """What the display shows now, cut to the terminal's width."""
        now = time.monotonic() if now is None else now
        parts = [f"[{self.done}/{self.total}]"]
        running = list(self.running)
        for name in running:
            counts = self.maps.get(name)
            if counts is None:
                continue
            elements, done, failed, started = counts
            text = f"{name} {int(done)}/{int(elements)}"
            elapsed = now - started
            if done and elapsed > 0:
                rate = done / elapsed
                text += f" {rate:.1f}/s, ~{_duration((elements - done) / rate)} left"
            if failed:
                text += f", {int(failed)} failed"
            parts.append(text)
        others = [n for n in running if n not in self.maps]
        if others:
            more = f" +{len(others) - 3}" if len(others) > 3 else ""
            parts.append("running: " + ", ".join(others[:3]) + more)
        elif len(parts) == 1:
            parts.append("running: -")
        if self.failed:
            parts.append("failed: " + ", ".join(self.failed))
        width = shutil.get_terminal_size((80, 24)).columns - 1
        return " | ".join(parts)[:width]

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


class PlainProgress:
    """Progress as plain lines, for ``-v`` when stderr is not a terminal (a pipe, a file,
    a CI log): nothing is redrawn or erased, so every line stays readable in the log.

    One line when a step of the top-level run ends (``[2/4] discover succeeded in
    0.04s``); for a map step, a line each time a further tenth of its elements is done
    (``files: 120/483 done, 35/s``), or after ``every`` seconds without one, never more
    than one a second: not a line per element. Called inline (in the emitting thread),
    so a step's line is written before anything the command prints after the run.
    """

    name = "progress"
    inline = True

    def __init__(
        self,
        stream: Any = None,
        *,
        every: float = 10.0,
        spacing: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.spacing = spacing
        self.clock = clock
        self.total = 0
        self.done = 0
        # map step -> [elements, done, failed, started, last line at, tenths shown]
        self.maps: dict[str, list[float]] = {}
        self._span: str | None = None
        self._span_steps: dict[str, str] = {}
        self._lock = threading.Lock()

    def handle(self, event: Event) -> None:
        with self._lock:
            if event.name == "run.start" and self._span is None:
                self._span = event.span_id
                self.total = int(event.attributes.get("steps", 0))
            elif event.span_id == self._span and event.step is not None:
                if event.name in ("step.stop", "step.skip"):
                    self.done += 1
                    self._write(self._step_line(event))
            elif event.name == "step.elements" and event.parent_span_id == self._span:
                if event.step is not None and event.span_id is not None:
                    self._span_steps[event.span_id] = event.step
                    now = self.clock()
                    elements = float(event.attributes.get("elements", 0))
                    self.maps[event.step] = [elements, 0.0, 0.0, now, now, 0.0]
            elif event.name == "run.stop" and event.span_id != self._span:
                self._element_done(event)

    def _step_line(self, event: Event) -> str:
        status = str(event.attributes.get("status") or "skipped")
        line = f"[{self.done}/{self.total}] {event.step} {status}"
        if event.name == "step.stop" and event.duration is not None:
            line += f" in {_took(event.duration)}"
        return line

    def _element_done(self, event: Event) -> None:
        # As in Progress: an element's run has the map step's span third in its lineage.
        lineage = event.lineage
        step = self._span_steps.get(lineage[2][0]) if len(lineage) > 2 else None
        if step is None:
            return
        counts = self.maps[step]
        elements, done, failed, started, last, tenths = counts
        done += 1
        failed += event.attributes.get("status") == "failed"
        counts[1], counts[2] = done, failed
        if done >= elements:
            return  # the step's own line follows
        now = self.clock()
        reached = int(done * 10 // elements) if elements else 0
        due = reached > tenths or now - last >= self.every
        if not due or now - last < self.spacing:
            return
        counts[4], counts[5] = now, float(reached)
        elapsed = now - started
        rate = done / elapsed if elapsed > 0 else 0.0
        shown = f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"
        line = f"{step}: {int(done)}/{int(elements)} done, {shown}/s"
        if failed:
            line += f", {int(failed)} failed"
        self._write(line)

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed under us: progress is not worth failing
            pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _took(seconds: float) -> str:
    """A step's duration for a progress line: ``0.04s``, ``12.3s``, ``2m05s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return _duration(seconds)


def progress_for(*, tty: bool, verbose: int, quiet: bool, json_output: bool) -> Any:
    """The progress display ``hybrid run`` attaches, or None.

    A live line on a terminal (not with ``--json``); plain lines with ``-v`` when stderr
    is not a terminal, so that by default a log gets the summary and, on failure, the
    one error line and nothing else; nothing with ``-q``.
    """
    if quiet:
        return None
    if tty:
        return None if json_output else Progress()
    return PlainProgress() if verbose else None


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def run_to_dict(
    result: RunResult, fallbacks: Mapping[tuple[str, str, str], int] | None = None
) -> dict[str, Any]:
    """A run result as JSON-ready data (the shape ``hybrid run --json`` prints).

    ``fallbacks`` are the router's counts of requests served in place of a preferred
    provider (:attr:`Router.fallbacks`), listed under ``"fallbacks"``.
    """
    return {
        "workflow": result.name,
        "run_id": result.run_id,
        "trace_id": result.trace_id,
        "status": result.status.value,
        "duration": round(result.duration, 6),
        "value": _jsonable(result.value),
        "error": describe_error(result.error) if result.error is not None else None,
        "steps": {
            name: {
                "status": rec.status.value,
                "kind": rec.kind,
                "attempts": rec.attempts,
                "start": rec.start,
                "duration": rec.duration,
                "provider": rec.provider,
                "fallback": rec.fallback,
                "error": describe_error(rec.error) if rec.error is not None else None,
            }
            for name, rec in result.steps.items()
        },
        "fallbacks": [
            {"capability": cap, "provider": provider, "why": why, "requests": count}
            for (cap, provider, why), count in sorted((fallbacks or {}).items())
        ],
    }


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=_fallback))
    except (TypeError, ValueError):
        return repr(value)


def _fallback(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "__attrs_attrs__"):
        import attrs

        return attrs.asdict(value)
    return repr(value)


@click.command()
@click.argument("workflow")
@click.option("--input", "-i", "pairs", multiple=True, metavar="KEY=VALUE",
              help="An input: key=text, or key:=json. Repeatable.")  # fmt: skip
@click.option("--input-file", type=click.Path(path_type=Path), help="A JSON object of inputs.")
@click.option("--max-concurrency", type=click.IntRange(min=1), help="Steps at once, at most.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds, at most.")
@click.option("--trace", "trace_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Record the run's telemetry as JSON lines for 'hybrid trace'.")  # fmt: skip
@click.option("--journal", "journal_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Journal the run here (default: .hybrid/runs.sqlite3).")  # fmt: skip
@click.option("--no-journal", is_flag=True, help="Do not journal the run (it cannot be resumed).")
@global_options
@handle_errors
def run(
    workflow: str,
    pairs: tuple[str, ...],
    input_file: Path | None,
    max_concurrency: int | None,
    timeout: float | None,
    trace_file: Path | None,
    journal_file: Path | None,
    no_journal: bool,
) -> None:
    """Run WORKFLOW and print its result; exit 1 when it fails.

    Each run is journaled, so that 'hybrid resume RUN_ID' can finish it after a crash,
    a kill or a halt without running again what completed ('hybrid runs' lists them).
    On a terminal a live line shows the progress; elsewhere (a pipe, a CI log) -v
    prints it as plain lines on stderr.

    \b
    Examples:
      hybrid run review --input path=src/
      hybrid run mypkg.flows:nightly --input-file inputs.json --json
      hybrid run review --input path=src/ --trace run.jsonl
    """
    opts = _options()
    inputs = parse_inputs(pairs, input_file)
    sinks = [JsonlSink(str(trace_file))] if trace_file is not None else []
    used = config_path(opts)
    config = _config(opts)
    journal = None
    if not no_journal and config.runs.enabled:
        try:
            journal = open_journal(opts, journal_file, create=True, config=config)
        except JournalUnavailable as exc:
            if not opts.quiet:
                click.echo(
                    f"warning: this run is not journaled ({exc}), so it cannot be resumed; "
                    "pass --journal FILE to journal it elsewhere",
                    err=True,
                )
    system = _new_system(opts, sinks=sinks, journal=journal or False, config=config)
    system.run_meta.update(_run_meta(opts, workflow, used))
    run_id = new_run_id()
    if not opts.quiet:
        # Which file decided what this run calls, said before anything runs.
        click.echo(_using(used), err=True)
    outcome = asyncio.run(
        _arun(system, workflow, inputs, _progress(opts), max_concurrency, timeout, run_id=run_id)
    )
    _finish(system, outcome, used, opts)


def _progress(opts: Options) -> Any:
    return progress_for(
        tty=sys.stderr.isatty(), verbose=opts.verbose, quiet=opts.quiet, json_output=opts.json
    )


def _run_meta(opts: Options, spec: str, used: Path | None) -> dict[str, Any]:
    """What 'hybrid resume' needs to rebuild the system: the workflow as named, the config."""
    return {
        "spec": spec,
        "config": _shown(used),
        "profile": opts.profile,
        "cwd": os.getcwd(),
        "plugin_modules": list(opts.plugin_modules),
    }


def _finish(system: Hybrid, outcome: _Outcome, used: Path | None, opts: Options) -> NoReturn:
    """Report a run (or a resumed one) and exit with its code."""
    if outcome.interrupts.signum is not None:
        _interrupted(outcome, json_output=opts.json, hint=_resume_hint(system, outcome.result))
    if outcome.result is None:  # pragma: no cover - _arun raises instead
        raise UsageFailure(f"workflow {outcome.workflow!r} did not run")
    result = outcome.result
    fault = _callers_fault(result) or _configuration_fault(outcome)
    if fault is not None:
        # A step refused what the command line gave it, or the configuration made every
        # routed request fail: a usage or configuration error, said once.
        if opts.json:
            _emit_json({**run_to_dict(result), "config": _shown(used)})
        warn_about_plugins(system, system.problems[outcome.open_problems :])
        click.echo(f"error: {fault}", err=True)
        sys.exit(EXIT_USAGE)
    _report(
        result, outcome.fallbacks, used, json_output=opts.json, quiet=opts.quiet,
        hint=_resume_hint(system, result),
    )  # fmt: skip
    for problem in system.problems[: outcome.open_problems]:
        click.echo(f"warning: configuration: {problem}", err=True)
    _note_fallbacks(outcome.fallbacks)
    _warn_sink_failures(system)
    warn_about_plugins(system, system.problems[outcome.open_problems :])
    code = EXIT_OK if result.status is RunStatus.SUCCEEDED else EXIT_FAILED
    abandoned = _abandoned(outcome)
    if abandoned:
        click.echo(
            f"warning: {abandoned} blocking call(s) nobody awaited were still running in "
            "threads and were abandoned",
            err=True,
        )
    _exit(code, abandoned)


def _abandoned(outcome: _Outcome) -> int:
    executor = outcome.executor
    return executor.abandoned if isinstance(executor, LocalExecutor) else 0


def _exit(code: int, abandoned: int) -> NoReturn:
    """Exit with ``code``; with abandoned thread calls, without waiting for them (a
    thread cannot be stopped, and the interpreter would join it at exit)."""
    if abandoned:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


# Once the run is over (or interrupted), calls still running get this long to stop
# before their workers are killed and their threads abandoned.
ABANDONED_GRACE = 2.0


@attrs.define
class _Outcome:
    interrupts: Interrupts
    workflow: str
    result: RunResult | None = None
    started: bool = False
    executor: object = None  # the running system's, kept for after it has closed
    open_problems: int = 0  # how many system.problems there were before closing began
    fallbacks: Mapping[tuple[str, str, str], int] = attrs.field(factory=dict)
    # (requests the router served, those refused on configuration, by message)
    routed: tuple[int, Mapping[str, int]] = (0, {})


async def _arun(
    system: Hybrid,
    spec: str,
    inputs: Mapping[str, Any],
    progress: Any,
    max_concurrency: int | None,
    timeout: float | None,
    *,
    run_id: str | None = None,
    resume: str | None = None,
    force_resume: bool = False,
) -> _Outcome:
    """Start ``system``, run the workflow ``spec`` names (or resume the journaled run
    ``resume``), close; a signal stops it early."""
    main = asyncio.current_task()
    context = ExecutionContext.root(name=spec, run_id=resume or run_id)

    def stop(name: str) -> None:
        if outcome.started:
            context.cancel_token.cancel(f"interrupted by {name}")
        elif main is not None:
            main.cancel(f"interrupted by {name}")

    def force() -> None:
        if isinstance(outcome.executor, LocalExecutor):
            outcome.executor.kill()

    outcome = _Outcome(Interrupts(stop, force), spec)
    with outcome.interrupts:
        try:
            async with system:
                outcome.executor = system.executor
                outcome.fallbacks = system.router.fallbacks  # the live count, read after closing
                wf = resolve_workflow(system, spec)
                outcome.workflow = wf.name
                if progress is not None:
                    system.telemetry.attach(progress)
                try:
                    outcome.started = True
                    if resume is not None:
                        outcome.result = await system.aresume(
                            resume, workflow=wf, force=force_resume, context=context,
                            max_concurrency=max_concurrency, timeout=timeout,
                        )  # fmt: skip
                    else:
                        outcome.result = await system.arun(
                            wf, inputs, context=context, max_concurrency=max_concurrency,
                            timeout=timeout,
                        )  # fmt: skip
                finally:
                    if progress is not None:
                        system.telemetry.detach(progress)
                        progress.close()
                    # The run is over: a call still running now is one nobody awaits.
                    if isinstance(outcome.executor, LocalExecutor):
                        grace = min(outcome.executor.close_grace, ABANDONED_GRACE)
                        outcome.executor.close_grace = grace
                    outcome.open_problems = len(system.problems)
                    router = system.router
                    outcome.routed = (router.requests, dict(router.misconfigured))
        except asyncio.CancelledError:
            if outcome.interrupts.signum is None:
                raise
    return outcome


def _interrupted(outcome: _Outcome, *, json_output: bool, hint: str = "") -> NoReturn:
    """One line on stderr (and the partial result with --json), then the signal's code."""
    what = f"workflow {outcome.workflow!r}"
    result = outcome.result
    if result is None:
        line = f"interrupted by {outcome.interrupts.name} before {what} started"
    else:
        done = [n for n, r in result.steps.items() if r.status.value in ("succeeded", "skipped")]
        names = f" ({', '.join(done)})" if 0 < len(done) <= 5 else ""
        line = (
            f"interrupted by {outcome.interrupts.name}: {what} stopped; {len(done)} of "
            f"{len(result.steps)} steps had completed{names}"
        )
        if json_output:
            _emit_json(run_to_dict(result))
    abandoned = _abandoned(outcome)
    if abandoned:
        line += f"; {abandoned} blocking call(s) still running in threads were abandoned"
    click.echo(line + hint, err=True)
    _exit(exit_code(outcome.interrupts.signum or 2), abandoned)


def _note_fallbacks(fallbacks: Mapping[tuple[str, str, str], int]) -> None:
    """One line per capability, provider and reason: the result came from a fallback."""
    for (capability, provider, why), count in sorted(fallbacks.items()):
        click.echo(
            f"note: {provider} served {count} {capability} request(s) in place of the "
            f"preferred provider: {why}",
            err=True,
        )


def _warn_sink_failures(system: Hybrid) -> None:
    for sink, error in system.telemetry.sink_failures.items():
        # Once per sink, whatever the log settings: the run went on without it.
        click.echo(f"warning: telemetry sink {sink!r} failed and was skipped: {error}", err=True)


def _using(path: Path | None) -> str:
    if path is None:
        return "no configuration file; using the defaults"
    return f"using configuration {path.resolve()}"


def _resume_hint(system: Hybrid, result: RunResult | None) -> str:
    """``; 'hybrid resume ID' ...`` for a journaled run that did not succeed, else ''."""
    if system.journal is None or result is None or result.ok:
        return ""
    return f"; 'hybrid resume {result.run_id}' runs what did not complete"


def _shown(path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


def _configuration_fault(outcome: _Outcome) -> str | None:
    """One line naming the configuration problem, when every request the run routed
    failed because of the configuration (an unknown strategy), whatever the steps made
    of it (a compensated step still counts: its findings were not the engines')."""
    requests, refused = outcome.routed
    if not requests or sum(refused.values()) < requests:
        return None
    reasons = "; ".join(refused)
    return (
        f"configuration: every routed request ({requests}) failed: {reasons}; "
        "fix the configuration ('hybrid validate' checks it)"
    )


def _callers_fault(result: RunResult) -> PayloadError | None:
    """The PayloadError behind a failed run, when the run's own inputs reached the step
    that raised it unchanged (so the fault is in what the command line gave)."""
    if result.ok:
        return None
    for name, rec in result.steps.items():
        if rec.status.value != "failed":
            continue
        error: BaseException | None = rec.error
        while error is not None:
            if isinstance(error, PayloadError):
                return error if _fed_by_inputs(result, name) else None
            error = error.__cause__
    return None


def _fed_by_inputs(result: RunResult, step: str) -> bool:
    """True when ``step`` takes only the run's inputs and literal values as arguments."""
    for definition in result.workflow.steps:
        if definition.name == step:
            refs = iter_refs(dict(definition.arguments))
            return not any(isinstance(ref, ResultRef) for ref in refs)
    return False


def _report(
    result: RunResult,
    fallbacks: Mapping[tuple[str, str, str], int],
    used: Path | None,
    *,
    json_output: bool,
    quiet: bool,
    hint: str = "",
) -> None:
    if json_output:
        _emit_json({**run_to_dict(result, fallbacks), "config": _shown(used)})
    elif not quiet:
        click.echo(result.summary(error=False))  # the error is said once, below
        if result.ok and result.value is not None:
            click.echo(json.dumps(_jsonable(result.value), indent=2))
    if not result.ok:
        failed = [n for n, r in result.steps.items() if r.status.value == "failed"]
        where = f" at step {failed[0]!r}" if failed else ""
        click.echo(f"error: workflow {result.name!r} {result.status.value}{where}: "
                   f"{describe_error(result.error)}{hint}", err=True)  # fmt: skip


@click.command()
@click.argument("workflow")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True, help="Mermaid (for Markdown) or Graphviz DOT.")  # fmt: skip
@global_options
@handle_errors
def graph(workflow: str, fmt: str) -> None:
    """Print WORKFLOW's graph: steps, their kinds, data and ordering edges.

    \b
    Examples:
      hybrid graph review > review.mmd
      hybrid graph mypkg.flows:nightly --format dot | dot -Tsvg > nightly.svg
    """
    with _system(_options()) as system:
        wf = resolve_workflow(system, workflow)
        wf.validate()
        click.echo(to_mermaid(wf) if fmt == "mermaid" else to_dot(wf))


@click.command()
@click.argument("workflow")
@global_options
@handle_errors
def plan(workflow: str) -> None:
    """Read WORKFLOW before running it: critical path, widest level, resource demand.

    Exit 1 when a need can never be met or a capability has no provider.

    \b
    Example:
      hybrid plan review --json
    """
    opts = _options()
    with _system(opts) as system:
        wf = resolve_workflow(system, workflow)
        report = system.plan(wf)
        missing = system.missing(wf)
    if opts.json:
        _emit_json({**report.to_dict(), "missing": missing})
    else:
        click.echo(report.render())
        for gap in missing:
            click.echo(f"problem: {gap}")
    sys.exit(EXIT_FAILED if report.problems or missing else EXIT_OK)
