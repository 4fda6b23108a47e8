"""Shared pieces of the benchmark suites: reports, tables, medians and fresh interpreters.

A suite returns a :class:`Report` (tables, targets, notes); the runner prints it and turns
it into Markdown. :class:`Sandbox` runs Python code in fresh subprocesses from an empty
working directory, with a path entry that makes ``import hybrid_core`` load this checkout
rather than whatever copy happens to be installed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]

# For the scripts the suites run in fresh interpreters (they import pathlib and resource):
# ``peak_kb()`` is the script's own peak resident set, from the kernel's VmHWM, which
# belongs to the process image. ``ru_maxrss`` is not: a child keeps its parent's across
# exec, so a small script started by the suite's (large) process would report the
# suite's peak. ``ru_maxrss`` is the fallback where there is no /proc.
PEAK_KB = """
STATUS = pathlib.Path("/proc/self/status")

def peak_kb(status=None):
    try:
        text = status if status is not None else STATUS.read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""
PACKAGE = "hybrid_core"

K = TypeVar("K")

# Variables that would change what a fresh interpreter imports or how it behaves.
_SCRUBBED_ENV = (
    "HYBRID_CORE_PLUGINS",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPATH",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONSTARTUP",
)


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells; columns of figures (cells starting with a digit)
    are right-aligned, the others left-aligned."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""

    def markdown(self) -> str:
        align = ["---:" if self._numeric(i) else "---" for i in range(len(self.headers))]
        lines = [_md_row(self.headers), _md_row(align)]
        lines += [_md_row(row) for row in self.rows]
        return "\n".join(lines)

    def _numeric(self, column: int) -> bool:
        return all(row[column][:1].isdigit() or not row[column] for row in self.rows)

    def text(self) -> str:
        cells = [[c.replace("`", "") for c in row] for row in [self.headers, *self.rows]]
        columns = range(len(self.headers))
        widths = [max(len(row[i]) for row in cells) for i in columns]
        pads = [str.rjust if self._numeric(i) else str.ljust for i in columns]
        layout = list(zip(widths, pads, strict=True))
        lines = [_text_row(row, layout) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _text_row(cells: Sequence[str], layout: Sequence[tuple[int, Callable[[str, int], str]]]) -> str:
    return "  ".join(pad(cell, width) for cell, (width, pad) in zip(cells, layout, strict=True))


@dataclass(frozen=True)
class Target:
    """A figure the project promises, what was measured against it, and the verdict."""

    goal: str
    measured: str
    met: bool


@dataclass
class Report:
    """What one suite found: how it measured, its tables, its targets and any remarks."""

    about: str
    runs: str
    tables: list[Table]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """One finished subprocess: its output and its wall-clock time in seconds."""

    stdout: str
    stderr: str
    wall: float


class Sandbox:
    """A scratch folder for fresh-interpreter runs; use it as a context manager.

    Subprocesses start in an empty working directory (so nothing in the current folder
    shadows an import) with ``PYTHONPATH`` set to a folder that links to this checkout's
    package, followed by any extra folders a suite asks for.
    """

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="hybrid-bench-")
        self.root = Path(self._tmp.name)
        self._cwd = self.folder("cwd")
        self._checkout = _link_checkout(self.folder("checkout"))

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tmp.cleanup()

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def env(
        self, paths: Sequence[Path] = (), extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [self._checkout, *paths])
        env.update(extra or {})
        return env

    def python(
        self,
        code: str,
        *flags: str,
        paths: Sequence[Path] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> Run:
        """Run ``code`` in a fresh interpreter; raise with its stderr if it fails."""
        command = [sys.executable, *flags, "-c", code]
        env = self.env(paths, extra_env)
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=self._cwd, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"benchmark subprocess failed:\n{code}\n{done.stderr}")
        return Run(done.stdout, done.stderr, wall)


def _link_checkout(folder: Path) -> Path:
    """A path entry holding only this checkout's package; the repository root if no links."""
    try:
        (folder / PACKAGE).symlink_to(REPO / PACKAGE, target_is_directory=True)
    except (OSError, NotImplementedError):
        return REPO
    return folder


def interleaved(cases: Sequence[K], runs: int, measure: Callable[[K], float]) -> dict[K, float]:
    """The median of ``runs`` measurements per case, taking the cases in turn each round.

    Taking turns spreads slow drift (other load, CPU frequency) evenly over the cases,
    so a ratio between two cases stays fair on a busy machine.
    """
    samples: dict[K, list[float]] = {case: [] for case in cases}
    for _ in range(runs):
        for case in cases:
            samples[case].append(measure(case))
    return {case: statistics.median(values) for case, values in samples.items()}


def about(doc: str | None) -> str:
    """A suite module's docstring without its summary line: the section's method text."""
    return (doc or "").split("\n\n", 1)[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def ns(seconds: float) -> str:
    return f"{seconds * 1e9:.0f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"
