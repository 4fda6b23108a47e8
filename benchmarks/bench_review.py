"""The main job at scale: the review workflow over the Python standard library.

The shipped workflow (examples/review/hybrid.toml) reviews the standard library of the
interpreter running the suite (its ``site-packages`` excluded: about 1,800 files),
through ``Hybrid.run`` in a fresh interpreter with the installed plugins: files are
discovered, each file's four analyses are routed to the engines (radon and pyflakes
where installed, the stdlib ``ast`` engines otherwise), run in worker processes, and
streamed into the report. The baseline runs the same engine functions in a plain
sequential loop in one process, parsing each file once and handing the tree to each
analysis. Peak memory is the largest resident set of the interpreter that drives the
work (the kernel's ``VmHWM``: ``ru_maxrss`` would report the suite's own process, whose
peak a child keeps across ``exec``), with the worker processes' peak beside it; the review
is also run on the first quarter and half of the files to show that memory does not grow
with the size of the tree. The loop and the review over the whole tree take three turns each,
alternately; the table shows the median run of each. The loop is plain Python with the
interpreter's defaults; the workers differ in one tuning of their own: each freezes the
objects its imports created (``gc.freeze``), so full collections skip them, which was
worth about 5% of the review's time on this tree.
"""

from __future__ import annotations

import json
import sysconfig
import textwrap

from _common import PEAK_KB, REPO, Report, Sandbox, Table, Target, about

TITLE = "Review of a real tree"
CONFIG = REPO / "examples" / "review" / "hybrid.toml"
EXCLUDE = [".*", "__pycache__", "site-packages"]
TARGET = 1.85

REVIEW = """
import asyncio, json, pathlib, resource, sys, time
from hybrid_core import Call, Hybrid

{peak}
def worker_peaks(system):
    # Each worker reports its own peak: the workers are not this process's children
    # (a forkserver starts them), so RUSAGE_CHILDREN cannot see them.
    proc = STATUS.exists()
    read = Call(STATUS.read_text, where="process")
    usage = Call(resource.getrusage, (resource.RUSAGE_SELF,), where="process")
    async def ask():
        call = read if proc else usage
        return await asyncio.gather(*(system.executor.asubmit(call) for _ in range(8)))
    found = system._sync(ask)
    return max(peak_kb(r) for r in found) if proc else max(r.ru_maxrss for r in found)

def main():
    root, out, include, exclude, config = sys.argv[1:6]
    started = time.perf_counter()
    with Hybrid(config) as system:
        result = system.run("review", path=root, out=out, include=json.loads(include),
                            exclude=json.loads(exclude))
        took = time.perf_counter() - started
        workers = worker_peaks(system)
    value = result.unwrap()
    print(json.dumps({"seconds": took, "files": value["totals"]["files"],
        "rss": peak_kb(), "workers": workers}))

if __name__ == "__main__":
    main()
"""

LOOP = """
import ast, json, pathlib, resource, sys, time
{peak}
import hybrid_core_review as review
from hybrid_core_pyast import run_imports, run_symbols
try:
    from hybrid_core_pyanalysis import run_complexity, run_lint
except ImportError:
    from hybrid_core_pyast import run_complexity, run_lint
root, limit = sys.argv[1], int(sys.argv[2])
exclude = json.loads(sys.argv[3])
started = time.perf_counter()
files = review.discover(root, exclude=exclude)["files"]
files = files[:limit] if limit else files
counts = {"files": 0, "functions": 0, "problems": 0}
for f in files:
    data = open(f["path"], "rb").read()
    try:
        tree = ast.parse(data.decode("utf-8"), f["path"])
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        counts["files"] += 1
        continue
    payload = {"tree": tree, "path": f["path"], "module": f["module"]}
    counts["functions"] += len(run_complexity(payload)["functions"])
    counts["problems"] += len(run_lint(payload)["problems"])
    run_symbols(payload)
    run_imports(payload)
    counts["files"] += 1
took = time.perf_counter() - started
print(json.dumps({"seconds": took, "files": counts["files"], "rss": peak_kb(), "workers": 0}))
"""


# Both scripts report their peak the same way.
REVIEW, LOOP = (code.replace("{peak}", PEAK_KB) for code in (REVIEW, LOOP))


def _stdlib() -> str:
    return sysconfig.get_paths()["stdlib"]


def _run(box: Sandbox, code: str, *args: str) -> dict[str, float]:
    script = box.folder("scripts") / f"s{abs(hash(code))}.py"
    script.write_text(textwrap.dedent(code))
    done = box.python(f"import runpy, sys; sys.argv = {[str(script), *args]!r}; "
                      f"runpy.run_path({str(script)!r}, run_name='__main__')")  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _review(box: Sandbox, root: str, include: list[str]) -> dict[str, float]:
    out = str(box.folder(f"report-{len(include)}-{abs(hash(tuple(include)))}"))
    args = (root, out, json.dumps(include), json.dumps(EXCLUDE), str(CONFIG))
    return _run(box, REVIEW, *args)


# Parts of the tree by the first letter of their top-level name, for the memory rows.
PARTS = {"a-e": ["[a-e]*.py"], "a-m": ["[a-m]*.py"], "all": ["*.py"]}


ROUNDS = 3


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time (its other figures are from that same run)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def run(*, quick: bool) -> Report:
    root = _stdlib()
    rounds = 1 if quick else ROUNDS
    loops: list[dict[str, float]] = []
    reviews: list[dict[str, float]] = []
    with Sandbox() as box:
        # The loop and the review take turns, so that drift in the machine's speed
        # (other load, CPU frequency) falls on both alike; each figure is a median.
        for _ in range(rounds):
            loops.append(_run(box, LOOP, root, "0", json.dumps(EXCLUDE)))
            reviews.append(_review(box, root, PARTS["all" if not quick else "a-e"]))
        parts = {name: _review(box, root, inc) for name, inc in PARTS.items()
                 if not quick and name != "all"}  # fmt: skip
    loop, review = _median_run(loops), _median_run(reviews)
    parts["all" if not quick else "a-e"] = review
    if quick:
        loop = {**loop, "seconds": loop["seconds"] * review["files"] / loop["files"]}
    speedup = loop["seconds"] / review["seconds"]
    rows = [
        ["sequential loop (same engines, parse once)", f"{loop['files']:.0f}",
         f"{loop['seconds']:.1f}", f"{loop['files'] / loop['seconds']:.0f}",
         f"{loop['rss'] / 1024:.0f}", "-"],
        ["`hybrid run review` (workflow, routed, worker processes)", f"{review['files']:.0f}",
         f"{review['seconds']:.1f}", f"{review['files'] / review['seconds']:.0f}",
         f"{review['rss'] / 1024:.0f}", f"{review['workers'] / 1024:.0f}"],
    ]  # fmt: skip
    headers = ["run", "files", "wall s", "files/s", "peak MB (driver)", "peak MB (a worker)"]
    table = Table(headers, rows, caption=f"The standard library at {root}, excluding "
                  f"{', '.join(EXCLUDE)}; the median of {rounds} turns each.")  # fmt: skip
    memory = Table(
        ["part of the tree", "files", "peak MB (driver)", "peak MB (a worker)"],
        [[name, f"{r['files']:.0f}", f"{r['rss'] / 1024:.0f}", f"{r['workers'] / 1024:.0f}"]
         for name, r in sorted(parts.items())],
        caption="Peak memory of the review as the tree grows (top-level names by first letter).",
    )  # fmt: skip
    turns = ", ".join(f"{a['seconds']:.1f} s / {b['seconds']:.1f} s"
                      for a, b in zip(loops, reviews, strict=True))  # fmt: skip
    targets = [Target(f"at least {TARGET}x faster than the sequential loop on 2 cores",
                      f"{speedup:.2f}x", speedup >= TARGET)]  # fmt: skip
    return Report(about=about(__doc__), runs=f"{rounds} turns of loop then review",
                  tables=[table, memory], targets=targets,
                  notes=[f"Each turn, loop / review: {turns}."])  # fmt: skip
