"""The steps of hybrid_core's code-review workflow.

The workflow itself is declared in ``workflows.toml`` beside this module, which the
``review`` plugin (:mod:`hybrid_core_review.plugin`) gives hybrid_core, so that
``hybrid run review`` works wherever this distribution is installed; these are the
plain functions its steps call:

- :func:`discover` lists the Python files of a tree, and the entries it skipped (special
  files, symlink loops, files over the size limit, unreadable folders, undecodable names);
- :func:`start` removes the previous report and opens a streaming one in the run's
  shared state;
- :func:`collect` adds one file's findings (per capability, with the engine that
  produced them) to it;
- :func:`finish` writes ``report.json`` and ``report.md`` (atomically) and says where
  they are;
- :func:`as_finding` is a ``compensate`` hook: an analysis that failed on every engine
  becomes a finding in the report instead of failing the run.

:class:`ImportGraph` finds the import cycles among a tree's modules from the imports
that run at import time, each shown as a path of real import statements.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from hybrid_core import ContinueWith, ExecutionContext, PayloadError

from ._cycles import ImportCycle, ImportEdge, ImportGraph, UnresolvedImport, cycle_lines
from ._discover import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    DEFAULT_MAX_FILE_BYTES,
    discover,
    display_path,
    module_name,
    package_of_folder,
)
from ._report import SCHEMA_VERSION, ReportWriter, markdown_text

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "DEFAULT_MAX_FILE_BYTES",
    "SCHEMA_VERSION",
    "ImportCycle",
    "ImportEdge",
    "ImportGraph",
    "ReportWriter",
    "UnresolvedImport",
    "as_finding",
    "collect",
    "cycle_lines",
    "discover",
    "display_path",
    "finish",
    "markdown_text",
    "module_name",
    "package_of_folder",
    "start",
]

__version__ = "0.1.0"

STATE_KEY = "hybrid_core_review.report"


def start(root: str, out: str, context: ExecutionContext) -> str:
    """Open the report for this run (in ``out``); later steps find it in shared state.

    A ``report.json`` and ``report.md`` left in ``out`` by an earlier run are removed
    first, so a run that never finishes leaves no report that looks current.
    """
    if not isinstance(out, str) or not out:
        raise PayloadError(f"input 'out' must name a folder, e.g. out=review-report, not {out!r}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise PayloadError(
            f"input 'out' {out!r} is not a folder; give a folder for report.json and report.md"
        )
    context.state.set(STATE_KEY, ReportWriter(str(root), out, run_id=context.run_id))
    return out


def _writer(context: ExecutionContext) -> ReportWriter:
    writer = context.state.get(STATE_KEY)
    if not isinstance(writer, ReportWriter):
        raise RuntimeError(
            "no review report is open in this run; the workflow must run the 'start' step "
            "before collecting findings"
        )
    return writer


def collect(
    file: Mapping[str, str],
    context: ExecutionContext,
    complexity: Any = None,
    lint: Any = None,
    symbols: Any = None,
    imports: Any = None,
) -> dict[str, Any]:
    """Add one file's findings to the open report; return a two-key summary of it.

    Each finding is what a capability step with ``with_provider = true`` returns:
    ``{"provider": engine name, "result": the engine's result}``.
    """
    results = {
        capability: served
        for capability, served in (
            ("python.complexity", complexity),
            ("python.lint", lint),
            ("python.symbols", symbols),
            ("python.imports", imports),
        )
        if served is not None
    }
    return _writer(context).add(file, results)


def finish(
    files: Sequence[Any], context: ExecutionContext, skipped: Sequence[Any] = ()
) -> dict[str, Any]:
    """Write the report, with the ``skipped`` entries :func:`discover` found.

    Returns ``{"json", "markdown", "totals", "files_reviewed"}``.
    """
    writer = _writer(context)
    writer.skip(skipped)
    report = writer.finish()
    context.state.delete(STATE_KEY)
    report["files_reviewed"] = len(files)
    return report


def as_finding(error: BaseException) -> ContinueWith:
    """A compensate hook: keep going, recording the failure as the step's result."""
    message = f"{type(error).__name__}: {error}"
    return ContinueWith(
        {
            "provider": None,
            "result": {
                "ok": False,
                "error": {"kind": "engine", "message": message, "line": None, "column": None},
            },
        }
    )
