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

Where the time goes: the processes' CPU time (user and system) in the median runs, the
review's split into its worker processes and the process that drives them. On 2 cores
the review's wall time can be no less than half their sum. The driver's own cost is
then measured with nothing to analyse: the review's shape (a map over the files, 16 at
a time, each file four routed calls with ``with_provider`` to engines in worker
processes, then a collect step) served by engines that answer at once, beside bare
asyncio sending the same calls through ``concurrent.futures.ProcessPoolExecutor`` (two
workers, ``run_in_executor``, 16 files at a time); then both again with each call
sleeping 1 ms in the worker, so that replies arrive one at a time, as in the review.
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
import review_echo

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

def worker_cpu(system):
    # Each worker's own user + system seconds, once per worker process.
    usage = Call(review_echo.usage, where="process")
    async def ask():
        return await asyncio.gather(*(system.executor.asubmit(usage) for _ in range(8)))
    return sum(dict(system._sync(ask)).values())

def main():
    root, out, include, exclude, config = sys.argv[1:6]
    started = time.perf_counter()
    with Hybrid(config) as system:
        result = system.run("review", path=root, out=out, include=json.loads(include),
                            exclude=json.loads(exclude))
        took = time.perf_counter() - started
        workers = worker_peaks(system)
        workers_cpu = worker_cpu(system)
    value = result.unwrap()
    print(json.dumps({"seconds": took, "files": value["totals"]["files"],
        "rss": peak_kb(), "workers": workers, "cpu": cpu_seconds(),
        "workers_cpu": workers_cpu}))

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
print(json.dumps({"seconds": took, "files": counts["files"], "rss": peak_kb(), "workers": 0,
                  "cpu": cpu_seconds()}))
"""


CPU_SECONDS = """
def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
"""

# Both scripts report their peak and their CPU time the same way.
REVIEW, LOOP = (code.replace("{peak}", PEAK_KB + CPU_SECONDS) for code in (REVIEW, LOOP))


# Written into the sandbox, on the scripts' path (and so on their worker processes').
ECHO = '''"""Engines for the review's four capabilities that answer at once, or after
REVIEW_ECHO_NAP seconds of sleep: with nothing to analyse, the driver's cost remains."""
import os, resource, time
import hybrid_core as hc

NAP = float(os.environ.get("REVIEW_ECHO_NAP") or 0)
CAPABILITIES = {"complexity": "functions", "lint": "problems", "symbols": "symbols",
                "imports": "imports"}

def _answer(capability):
    if NAP:
        time.sleep(NAP)
    return {"ok": True, CAPABILITIES[capability]: []}

def complexity(payload): return _answer("complexity")
def lint(payload): return _answer("lint")
def symbols(payload): return _answer("symbols")
def imports(payload): return _answer("imports")

def usage():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return os.getpid(), u.ru_utime + u.ru_stime

class Plugin:
    @hc.hookimpl
    def hybrid_engines(self):
        return [hc.Engine(name=f"echo.{c}", capabilities={f"python.{c}": 1},
                          handler=globals()[c], process=True, affinity_key="path")
                for c in CAPABILITIES]
'''

DRIVER = """
import asyncio, json, resource, sys, time
from concurrent.futures import ProcessPoolExecutor
import hybrid_core as hc
import hybrid_core_review as review
import review_echo as echo

CAPS = tuple(echo.CAPABILITIES)
AT_ONCE = 16  # files in flight, as the shipped workflow's map
{cpu}
def collect(file, **found):
    return file["path"]

def workflow():
    # The shape of the shipped review: four routed calls a file, then a collect step.
    one = hc.Workflow("one_file", inputs=["file"])
    for c in CAPS:
        one.add(hc.capability_step(c, f"python.{c}", path=hc.input("file", "path"),
                                   module=hc.input("file", "module"), with_provider=True))
    one.step("collect", collect, file=hc.input("file"), **{c: hc.result(c) for c in CAPS})
    one.returns("collect")
    wf = hc.Workflow("files", inputs=["files"])
    wf.map("each", one, over=hc.input("files"), item="file", concurrency=AT_ONCE,
           keep_runs=False)
    wf.returns("each")
    return wf

async def with_hybrid(files):
    async with hc.Hybrid(plugins=[echo.Plugin()], entry_points=False) as system:
        wf = workflow()
        await system.arun(wf, files=files[:AT_ONCE])  # the worker processes start
        c, t = cpu_seconds(), time.perf_counter()
        result = await system.arun(wf, files=files)
        return result.unwrap(), cpu_seconds() - c, time.perf_counter() - t

async def with_pool(files):
    loop = asyncio.get_running_loop()
    fns = [getattr(echo, c) for c in CAPS]
    with ProcessPoolExecutor(2) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, f, {}) for f in fns * 4))
        c, t = cpu_seconds(), time.perf_counter()
        limit = asyncio.Semaphore(AT_ONCE)
        async def one(file):
            async with limit:
                payload = {"path": file["path"], "module": file["module"]}
                found = await asyncio.gather(
                    *(loop.run_in_executor(pool, f, payload) for f in fns))
                return collect(file, **dict(zip(CAPS, found)))
        out = await asyncio.gather(*(one(f) for f in files))
        return out, cpu_seconds() - c, time.perf_counter() - t

def main():
    root, mode, exclude = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    files = review.discover(root, exclude=exclude)["files"]
    done, seconds, wall = asyncio.run((with_hybrid if mode == "hybrid" else with_pool)(files))
    print(json.dumps({"calls": len(CAPS) * len(done), "cpu": seconds, "wall": wall}))

if __name__ == "__main__":
    main()
"""
DRIVERS = {"hybrid": "hybrid_core, the review's shape (`Hybrid`, local executor)",
           "pool": "bare asyncio + `ProcessPoolExecutor(2)`"}  # fmt: skip
NAPS = {"at once": "", "after 1 ms": "0.001"}
DRIVER = DRIVER.replace("{cpu}", CPU_SECONDS)


def _stdlib() -> str:
    return sysconfig.get_paths()["stdlib"]


def _run(box: Sandbox, code: str, *args: str, nap: str = "") -> dict[str, float]:
    script = box.folder("scripts") / f"s{abs(hash(code))}.py"
    script.write_text(textwrap.dedent(code))
    echo = box.folder("echo")
    if not (echo / "review_echo.py").exists():
        (echo / "review_echo.py").write_text(ECHO)
    done = box.python(f"import runpy, sys; sys.argv = {[str(script), *args]!r}; "
                      f"runpy.run_path({str(script)!r}, run_name='__main__')",
                      paths=[echo], extra_env={"REVIEW_ECHO_NAP": nap})  # fmt: skip
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
        drivers = _drivers(box, root, rounds)
    loop, review = _median_run(loops), _median_run(reviews)
    parts["all" if not quick else "a-e"] = review
    if quick:
        share = review["files"] / loop["files"]
        loop = {**loop, "seconds": loop["seconds"] * share, "cpu": loop["cpu"] * share}
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
    cpu = _cpu_table(loop, review)
    driver = Table(
        ["driver", "calls answered", "calls", "driver CPU s", "us CPU a call", "wall s"],
        [[DRIVERS[mode], nap, f"{r['calls']:.0f}", f"{r['cpu']:.2f}",
          f"{r['cpu'] / r['calls'] * 1e6:.0f}", f"{r['wall']:.2f}"]
         for (mode, nap), r in drivers.items()],
        caption="The driver's own cost: the review's calls with nothing to analyse, over "
                f"the same files (the median of {rounds} turns; CPU from the call's start).",
    )  # fmt: skip
    turns = ", ".join(f"{a['seconds']:.1f} s / {b['seconds']:.1f} s"
                      for a, b in zip(loops, reviews, strict=True))  # fmt: skip
    targets = [Target(f"at least {TARGET}x faster than the sequential loop on 2 cores",
                      f"{speedup:.2f}x", speedup >= TARGET)]  # fmt: skip
    return Report(about=about(__doc__), runs=f"{rounds} turns of loop then review",
                  tables=[table, memory, cpu, driver], targets=targets,
                  notes=[f"Each turn, loop / review: {turns}.",
                         _budget(loop, review, drivers)])  # fmt: skip


def _drivers(box: Sandbox, root: str, rounds: int) -> dict[tuple[str, str], dict[str, float]]:
    """The median (by CPU) of ``rounds`` driver runs per driver and reply spacing."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {
        (mode, nap): [] for nap in NAPS for mode in DRIVERS
    }
    for _ in range(rounds):  # taking turns, as the loop and the review do
        for (mode, nap), found in runs.items():
            found.append(_run(box, DRIVER, root, mode, json.dumps(EXCLUDE), nap=NAPS[nap]))
    return {key: sorted(r, key=lambda x: x["cpu"])[len(r) // 2] for key, r in runs.items()}


def _cpu_table(loop: dict[str, float], review: dict[str, float]) -> Table:
    driver, workers = review["cpu"], review["workers_cpu"]
    rows = [
        ["sequential loop", f"{loop['cpu']:.1f}", "-", f"{loop['cpu']:.1f}",
         f"{loop['cpu']:.1f}"],
        ["the review", f"{workers:.1f}", f"{driver:.1f}", f"{workers + driver:.1f}",
         f"{(workers + driver) / 2:.1f}"],
    ]  # fmt: skip
    return Table(
        ["run", "workers' CPU s", "driver's CPU s", "all CPU s", "wall s it needs at least"],
        rows,
        caption="Where the time goes, in the median runs above (whole processes, start-up "
                "included): the loop is one process, so it needs its CPU time; the review "
                "at least half its CPU time on 2 cores.",
    )  # fmt: skip


def _budget(
    loop: dict[str, float],
    review: dict[str, float],
    drivers: dict[tuple[str, str], dict[str, float]],
) -> str:
    """What the target leaves the driver, against what it took and its floor."""
    allowed = 2 * loop["seconds"] / TARGET - review["workers_cpu"]
    floor = drivers["hybrid", "at once"]["cpu"]
    return (
        f"At {TARGET}x the review takes at most {loop['seconds'] / TARGET:.1f} s, "
        f"{2 * loop['seconds'] / TARGET:.1f} CPU-s on 2 cores; its workers took "
        f"{review['workers_cpu']:.1f} (the loop {loop['cpu']:.1f}), which leaves the driver "
        f"{allowed:.1f} CPU-s. It took {review['cpu']:.1f}; with every call answered at "
        f"once its calls alone take {floor:.2f}, besides start-up, unpickling the engines' "
        "results and writing the report."
    )
