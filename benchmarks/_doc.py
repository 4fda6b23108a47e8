"""Rendering of reports (stdout text, Markdown) and the rewrite of docs/benchmarks.md.

Each suite owns one generated section of the document, between a begin and an end marker
that carry the suite's name. Rewriting a suite replaces only its own section, so figures of
suites that did not run stay as they were; a suite without a section yet is appended.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

from _common import Report, Target

BEGIN = "<!-- begin generated: {name} (written by benchmarks/run.py; edits are overwritten) -->"
END = "<!-- end generated: {name} -->"

TEMPLATE = """\
# Benchmarks

The figures behind the project's performance budget. Every figure below was
measured by the suite in `benchmarks/` and written here by it.

## Running the suite

From the repository root, with the development environment active (the runtime
dependencies installed; the suite imports `hybrid_core` from the working tree, whatever
copy is installed):

```console
$ python benchmarks/run.py                  # every suite, then rewrite this page's figures
$ python benchmarks/run.py --only registry  # one suite; the other sections stay as they are
$ python benchmarks/run.py --quick          # a smoke run with fewer repetitions; prints only
$ python benchmarks/run.py --quick --write  # ... and writes this page anyway
```

Each suite is one module, `benchmarks/bench_<name>.py` (`hybrid`, `import`, `journal`,
`registry`, `review`, `routing`, `startup`, `telemetry`, `validate`, `workflow`); adding a
module adds a suite and a section here. A full run takes about ten minutes on two cores and the
journal suite about three more (the workflow or journal suite creates the peer tools'
environment, `benchmarks/.peers-venv`, the first time); `--quick` about two, and one more.
The review suite needs the plugin distributions installed (`pip install
./plugins/hybrid-core-pyast ./plugins/hybrid-core-pyanalysis ./plugins/hybrid-core-review`).
Every figure is a median over several runs, and runs being compared take turns so that
background load falls on all of them alike. Each section says when and on what machine it
was last measured; figures from different machines do not compare, the ratios within one
section do. The sections between `begin generated` and `end generated` markers are
rewritten by the runner: edit the suites, not the figures.
"""


def machine() -> str:
    """One line naming the machine, the interpreter, the date and how busy the machine was."""
    cpu = _cpu_model()
    parts = [
        datetime.date.today().isoformat(),
        f"{platform.system()} {platform.release()} {platform.machine()}",
        *([cpu] if cpu else []),
        f"{os.cpu_count()} CPUs",
        f"{platform.python_implementation()} {platform.python_version()}",
    ]
    if hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.2f} at start")
    return ", ".join(parts)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor()


def verdict(target: Target) -> str:
    return "met" if target.met else "MISSED"


def text(report: Report) -> str:
    """The report as plain text for a terminal."""
    blocks = [f"{t.caption}\n{t.text()}" if t.caption else t.text() for t in report.tables]
    blocks += [
        f"target: {t.goal.replace('`', '')} -> {verdict(t)} (measured {t.measured})"
        for t in report.targets
    ]
    return "\n\n".join(blocks)


def markdown(title: str, report: Report, where: str, *, quick: bool) -> str:
    """The report as a Markdown section: heading, conditions, method, tables, targets."""
    runs = f"{report.runs}{' (quick run: fewer repetitions)' if quick else ''}"
    about = report.about.strip().replace("``", "`")  # docstring style to Markdown
    parts = [f"## {title}", f"_Last run: {where}. {runs}._", about]
    for table in report.tables:
        parts += [table.caption, table.markdown()] if table.caption else [table.markdown()]
    parts += [_target_line(t) for t in report.targets] or ["**Target:** none set yet."]
    if report.notes:
        parts.append("\n".join(f"- {note}" for note in report.notes))
    return "\n\n".join(parts)


def _target_line(target: Target) -> str:
    state = "**met**" if target.met else "**missed**"
    return f"**Target:** {target.goal}. Measured {target.measured}: {state}."


def update(path: Path, sections: dict[str, str]) -> None:
    """Replace (or append) each suite's generated section in the document at ``path``."""
    content = path.read_text() if path.exists() else TEMPLATE
    for name, body in sections.items():
        content = _replace_section(content, name, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def _replace_section(content: str, name: str, body: str) -> str:
    block = f"{BEGIN.format(name=name)}\n{body.strip()}\n{END.format(name=name)}"
    pattern = re.compile(
        rf"<!-- begin generated: {re.escape(name)} .*?-->.*?{re.escape(END.format(name=name))}",
        re.DOTALL,
    )
    if pattern.search(content):
        return pattern.sub(lambda _: block, content, count=1)
    return f"{content.rstrip()}\n\n{block}\n"
