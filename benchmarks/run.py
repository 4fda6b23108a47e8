"""Run the benchmark suites, print their figures and write them into docs/benchmarks.md.

    python benchmarks/run.py                  # every suite; rewrites the document
    python benchmarks/run.py --quick          # fewer repetitions; prints only
    python benchmarks/run.py --quick --write  # ... and writes the document anyway
    python benchmarks/run.py --only registry  # one suite (repeat --only for more)

A suite is a module ``bench_<name>.py`` next to this file defining ``TITLE`` and
``run(*, quick: bool) -> Report``; adding such a module adds a suite. Suites import
``hybrid_core`` from this checkout, not from wherever it is installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import _doc

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOC = REPO / "docs" / "benchmarks.md"
DEPENDENCIES = ("attrs", "click", "loguru", "pluggy")


def suite_names() -> list[str]:
    """Every suite next to this file, by name, in alphabetical order."""
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def parse_args(argv: Sequence[str] | None, names: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Run the hybrid_core benchmarks and record their figures.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few repetitions, a smoke run; implies no writing"
    )
    parser.add_argument("--write", action="store_true", help="write the document even with --quick")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=names,
        help=f"run only this suite; one of: {', '.join(names)}",
    )
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="document to update (default: %(default)s)"
    )
    return parser.parse_args(argv)


def run_suite(name: str, *, quick: bool, where: str) -> str:
    """Run one suite, print its report, and return its Markdown section."""
    suite = importlib.import_module(f"bench_{name}")
    print(f"== {suite.TITLE} [{name}]", flush=True)
    started = time.perf_counter()
    report = suite.run(quick=quick)
    print(_doc.text(report))
    print(f"({time.perf_counter() - started:.1f} s)\n", flush=True)
    return _doc.markdown(suite.TITLE, report, where, quick=quick)


def missing_dependencies() -> list[str]:
    """The runtime dependencies of hybrid_core this interpreter cannot import."""
    return [name for name in DEPENDENCIES if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    names = suite_names()
    args = parse_args(argv, names)
    missing = missing_dependencies()
    if missing:
        print(
            f"{sys.executable} cannot import {', '.join(missing)}; run the suite with the "
            "development environment's interpreter",
            file=sys.stderr,
        )
        return 2
    # Measure the working tree, whatever copy of the package is installed.
    sys.path.insert(0, str(REPO))
    where = _doc.machine()
    print(f"{where}\n")
    chosen = list(dict.fromkeys(args.only or names))
    sections = {name: run_suite(name, quick=args.quick, where=where) for name in chosen}
    if args.write or not args.quick:
        _doc.update(args.doc, sections)
        print(f"wrote {len(sections)} section(s) of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
