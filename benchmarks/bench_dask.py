"""The Dask executor: its cost per call against Dask's own client, scaling, and the review.

Every part runs in fresh interpreters that import this checkout's ``hybrid_core`` and
``hybrid_core_dask`` (``plugins/hybrid-core-dask/src``), with a small module of work
functions on the path of the driver and of every worker (the functions travel by
reference, as a workflow's would). Clusters are ``LocalCluster`` on 127.0.0.1: worker
processes of one thread each, no dashboard; the scheduler runs in the driver's process.

Per call: one ``LocalCluster`` of 2 worker processes; on it, a ``DaskExecutor`` given the
scheduler's address and a plain ``distributed.Client`` of its own. One measurement sends a
batch of trivial calls (the identity function on an int) at once and waits for every
answer (checked): the raw client by ``client.submit(fn, i, pure=False)`` for each and one
``client.gather``, then each ``future.result()``, then the results gathered as they finish
(``as_completed`` batches, each future released after); hybrid_core by ``asyncio.gather``
of ``executor.asubmit(Call(fn, (i,)))`` on an event loop of the driver. **us/call** is the
batch's wall time over its calls. The local executor's worker processes
(``LocalExecutor(max_processes=2)``, ``where="process"``) run the same batch for context.
Each case is warmed up once, then the cases take turns, round after round; the figures are
medians.

Scaling: a workflow of one map step (``blocking=True``) over the elements, each a pure
Python loop calibrated on the driver to take the given time, run by ``Hybrid.run`` with
``[executor] name = "dask"`` and a LocalCluster of 1, then of 2, worker processes (each in
its own fresh interpreter, after a small warm-up run that starts the cluster). Dask's own
client runs the same elements by ``client.map`` and one ``client.gather`` on a
``LocalCluster`` of the same shape, for the floor any executor on Dask scales from. The
four take turns and each figure is the median. The answers (the loops' results) are
checked.

The review: the shipped ``review`` workflow (``examples/review/hybrid.toml``) over the
standard library of the interpreter running the suite, by ``Hybrid.run`` in a fresh
interpreter, with the default local executor (its worker processes, one per core) and
with ``--profile dask`` (a LocalCluster of one worker process per core), taking turns.
Each run counts the calls the driver hands to its executor and reads the driver's CPU
time (``RUSAGE_SELF``: for Dask it includes the scheduler and the client's thread).
"""

from __future__ import annotations

import json
import os
import statistics
import sysconfig
import textwrap
from typing import Any

from _common import REPO, Report, Sandbox, Table, Target, about

TITLE = "Dask executor"
PLUGIN_SRC = REPO / "plugins" / "hybrid-core-dask" / "src"
CONFIG = REPO / "examples" / "review" / "hybrid.toml"
EXCLUDE = [".*", "__pycache__", "site-packages"]
OVERHEAD_TARGET = 1.15  # hybrid_core's us/call over the raw client's, at most
SCALING_TARGET = 1.8  # 1 worker's wall time over 2 workers', at least

# (calls per batch, rounds), (elements, seconds each, rounds), (review include, rounds)
FULL = {"overhead": (300, 9), "scaling": (200, 0.05, 5), "review": (["[a-e]*.py"], 2)}
QUICK = {"overhead": (200, 5), "scaling": (80, 0.02, 1), "review": (["[a-c]*.py"], 1)}

WORK = '''
"""Work functions for the Dask benchmark, importable by the driver and every worker."""

import time


def echo(x):
    return x


def spin(n):
    """A pure Python loop; returns its result and the CPU seconds it took."""
    started = time.thread_time()
    total = 0
    for i in range(n):
        total += i * i % 7
    return total, time.thread_time() - started


def calibrate(seconds):
    """Iterations of spin() that take about ``seconds`` on this machine (best of 5)."""
    n = 200_000
    best = min(_time(n) for _ in range(5))
    return max(1, int(n * seconds / best))


def _time(n):
    return spin(n)[1]
'''

OVERHEAD = """
import asyncio, gc, json, statistics, sys, time
from distributed import Client, LocalCluster, as_completed
from hybrid_core import Call, LocalExecutor
from hybrid_core_dask import DaskExecutor
import benchwork

def main():
    # Under a main guard: the cluster's worker processes import this script again.
    calls, rounds = int(sys.argv[1]), int(sys.argv[2])
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                           scheduler_kwargs={"dashboard": False})
    client = Client(cluster.scheduler_address, set_as_default=False)
    dask_ex = DaskExecutor(address=cluster.scheduler_address)
    local_ex = LocalExecutor(max_processes=2)
    loop = asyncio.new_event_loop()
    cases = {"raw": raw(client, calls), "each": each(client, calls),
             "streamed": streamed(client, calls),
             "dask": through(dask_ex, loop, calls), "local": through(local_ex, loop, calls)}
    samples = {name: [] for name in cases}
    try:
        for measure in cases.values():
            measure()  # warm-up: workers import the module, pools start
        for _ in range(rounds):
            for name, measure in cases.items():
                gc.collect()
                samples[name].append(measure())
    finally:
        loop.run_until_complete(dask_ex.aclose())
        loop.run_until_complete(local_ex.aclose())
        loop.close()
        client.close()
        cluster.close()
    print(json.dumps(samples))

def raw(client, calls):
    expected = list(range(calls))
    def measure():
        started = time.perf_counter()
        futures = [client.submit(benchwork.echo, i, pure=False) for i in range(calls)]
        got = client.gather(futures)
        took = time.perf_counter() - started
        del futures
        assert got == expected
        return took
    return measure

def streamed(client, calls):
    # Each result taken as it arrives, as an executor of single calls must hand it back:
    # the futures that finished together gathered together, then released.
    expected = list(range(calls))
    def measure():
        started = time.perf_counter()
        futures = [client.submit(benchwork.echo, i, pure=False) for i in range(calls)]
        got = {}
        for batch in as_completed(futures, loop=client.loop).batches():
            got.update(client.gather({f.key: f for f in batch}))
            for f in batch:
                f.release()
        took = time.perf_counter() - started
        del futures
        assert sorted(got.values()) == expected
        return took
    return measure

def each(client, calls):
    expected = list(range(calls))
    def measure():
        started = time.perf_counter()
        futures = [client.submit(benchwork.echo, i, pure=False) for i in range(calls)]
        got = [future.result() for future in futures]
        took = time.perf_counter() - started
        del futures
        assert got == expected
        return took
    return measure

def through(executor, loop, calls):
    expected = list(range(calls))
    async def batch():
        return await asyncio.gather(*(executor.asubmit(Call(benchwork.echo, (i,),
                                      where="process")) for i in range(calls)))
    def measure():
        started = time.perf_counter()
        got = loop.run_until_complete(batch())
        took = time.perf_counter() - started
        assert got == expected
        return took
    return measure

if __name__ == "__main__":
    main()
"""

SCALING = """
import json, sys, time
import hybrid_core as hc
from hybrid_core import Hybrid
import benchwork

def main():
    elements, seconds, workers = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    n = benchwork.calibrate(seconds)
    wf = hc.Workflow("spin", inputs=["xs"])
    wf.map("each", benchwork.spin, over=hc.input("xs"), blocking=True, concurrency=16)
    wf.returns("each")
    config = {"executor": {"name": "dask", "dask": {"n_workers": workers}},
              "plugins": {"only": ["dask"]}}
    with Hybrid(config) as system:
        warm = system.run(wf, xs=[1000] * 4 * workers)  # starts the cluster
        assert warm.ok, warm.error
        started = time.perf_counter()
        result = system.run(wf, xs=[n] * elements)
        took = time.perf_counter() - started
        assert result.ok, result.error
        expected = benchwork.spin(n)[0]
        assert [total for total, _ in result.value] == [expected] * elements
        work = sum(cpu for _, cpu in result.value)
    print(json.dumps({"seconds": took, "n": n, "work": work}))

if __name__ == "__main__":
    main()
"""

# The same map through Dask's own client on the same kind of cluster: the floor any
# executor built on Dask scales from.
RAW_SCALING = """
import json, sys, time
from distributed import Client, LocalCluster
import benchwork

def main():
    elements, seconds, workers = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    n = benchwork.calibrate(seconds)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(benchwork.spin, [1000] * 4 * workers, pure=False))
        started = time.perf_counter()
        got = client.gather(client.map(benchwork.spin, [n] * elements, pure=False))
        took = time.perf_counter() - started
    expected = benchwork.spin(n)[0]
    assert [total for total, _ in got] == [expected] * elements
    print(json.dumps({"seconds": took, "n": n, "work": sum(cpu for _, cpu in got)}))

if __name__ == "__main__":
    main()
"""


REVIEW = """
import json, resource, sys, time
from hybrid_core import Hybrid

def main():
    root, out, include, exclude, config, profile = sys.argv[1:7]
    calls = 0
    started = time.perf_counter()
    with Hybrid(config, profile=profile or None) as system:
        executor = system.executor
        submit = executor.asubmit

        async def counted(call):
            nonlocal calls
            calls += 1
            return await submit(call)

        executor.asubmit = counted
        result = system.run("review", path=root, out=out, include=json.loads(include),
                            exclude=json.loads(exclude))
        took = time.perf_counter() - started
    value = result.unwrap()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": took, "files": value["totals"]["files"], "calls": calls,
                      "cpu": usage.ru_utime + usage.ru_stime}))

if __name__ == "__main__":
    main()
"""


def _script(box: Sandbox, code: str, *args: object) -> dict[str, Any]:
    scripts = box.folder("scripts")
    (scripts / "benchwork.py").write_text(textwrap.dedent(WORK).lstrip())
    script = scripts / f"s{abs(hash(code))}.py"
    script.write_text(textwrap.dedent(code))
    argv = [str(script), *map(str, args)]
    done = box.python(
        f"import runpy, sys; sys.argv = {argv!r}; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')",
        paths=[PLUGIN_SRC, scripts],
        extra_env={"HYBRID_DASK_ADDRESS": ""},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _overhead(box: Sandbox, calls: int, rounds: int) -> tuple[Table, Target, dict[str, float]]:
    samples = _script(box, OVERHEAD, calls, rounds)
    per_call = {name: statistics.median(v) / calls for name, v in samples.items()}
    raw = per_call["raw"]
    labels = {
        "raw": "Dask's own client: `client.submit` each, one `client.gather`",
        "each": "Dask's own client: `client.submit` each, then each `future.result()`",
        "streamed": "Dask's own client: `client.submit` each, results gathered as they "
        "finish (`as_completed` batches), each future released",
        "dask": "hybrid_core `DaskExecutor.asubmit`, `asyncio.gather`",
        "local": 'hybrid_core `LocalExecutor`, worker processes (`where="process"`)',
    }
    rows = [[labels[name], f"{per_call[name] * 1e6:,.0f}", f"{per_call[name] / raw:.2f}x",
             f"{min(samples[name]) / calls * 1e6:,.0f}", f"{max(samples[name]) / calls * 1e6:,.0f}"]
            for name in ("raw", "each", "streamed", "dask", "local")]  # fmt: skip
    table = Table(
        ["how the calls are sent", "us/call", "x raw client", "fastest us/call",
         "slowest us/call"],
        rows,
        caption=f"Per call: batches of {calls} trivial calls, 2 worker processes of 1 thread; "
        f"the median of {rounds} rounds, taking turns.",
    )  # fmt: skip
    ratio = per_call["dask"] / raw
    target = Target(
        f"the dask executor's cost per call at most {OVERHEAD_TARGET}x Dask's own client's "
        "on the same cluster",
        f"{ratio:.2f}x ({per_call['dask'] * 1e6:,.0f} us against {raw * 1e6:,.0f} us)",
        ratio <= OVERHEAD_TARGET,
    )
    return table, target, per_call


def _scaling(box: Sandbox, elements: int, seconds: float, rounds: int) -> tuple[Table, Target, str]:
    cases = [("hybrid", 1), ("hybrid", 2), ("raw", 1), ("raw", 2)]
    scripts = {"hybrid": SCALING, "raw": RAW_SCALING}
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {case: [] for case in cases}
    for _ in range(rounds):
        for (who, workers), found in runs.items():
            found.append(_script(box, scripts[who], elements, seconds, workers))
    median = {case: sorted(found, key=lambda r: r["seconds"])[len(found) // 2]
              for case, found in runs.items()}  # fmt: skip
    wall = {case: r["seconds"] for case, r in median.items()}
    work = {case: r["work"] for case, r in median.items()}
    # The speed-up of each turn, its 1-worker and 2-worker runs side by side in time, then
    # the median: the machine's speed drifts over minutes, a ratio of medians taken from
    # different turns would carry that drift.
    turns = {who: [one["seconds"] / two["seconds"]
                   for one, two in zip(runs[who, 1], runs[who, 2], strict=True)]
             for who in scripts}  # fmt: skip
    speedups = {who: statistics.median(found) for who, found in turns.items()}
    labels = {"hybrid": "hybrid_core, `[executor] name = \"dask\"`",
              "raw": "Dask's own client: `client.map`, one `client.gather`"}  # fmt: skip
    rows = [[labels[who], f"{w} worker process{'es' if w > 1 else ''}", f"{wall[who, w]:.2f}",
             f"{work[who, w]:.2f}", f"{elements / wall[who, w]:.1f}",
             f"{speedups[who] if w > 1 else 1.0:.2f}x",
             f"{work[who, w] / w / wall[who, w] * 100:.0f}%"]
            for who, w in cases]  # fmt: skip
    table = Table(
        ["run by", "LocalCluster", "wall s", "work CPU s", "elements/s", "speed-up", "busy"],
        rows,
        caption=f"Scaling: a map of {elements} elements of about {seconds * 1e3:.0f} ms of "
        f"pure Python each (calibrated on the driver), the median of {rounds} turns; the "
        "speed-up is the median of each turn's own (its 1-worker run's wall time over its "
        "2-worker run's); *work CPU s* is the CPU time the elements measured for themselves "
        "on the workers, *busy* that time over the workers over the wall time.",
    )  # fmt: skip
    speedup, raw_speedup = speedups["hybrid"], speedups["raw"]
    target = Target(f"at least {SCALING_TARGET}x faster on 2 worker processes than on 1",
                    f"{speedup:.2f}x", speedup >= SCALING_TARGET)  # fmt: skip

    def rate(who: str) -> float:
        return (work[who, 2] / wall[who, 2]) / (work[who, 1] / wall[who, 1])

    note = (
        f"Scaling: Dask's own client, on clusters of the same shape in the same turns, went "
        f"{raw_speedup:.2f}x faster on 2 worker processes than on 1 (hybrid_core "
        f"{speedup:.2f}x). The elements measured {work['hybrid', 1]:.1f} s of CPU on 1 "
        f"worker and {work['hybrid', 2]:.1f} s on 2; where these differ, the machine's speed "
        "changed between the runs (other load on it), and the wall-time speed-up carries "
        f"that. Counted in work CPU per wall second instead, 2 workers did {rate('hybrid'):.2f}x "
        f"the work of 1 under hybrid_core and {rate('raw'):.2f}x under Dask's own client. "
        f"Each turn's speed-up, hybrid_core: {', '.join(f'{x:.2f}x' for x in turns['hybrid'])}; "
        f"Dask's own client: {', '.join(f'{x:.2f}x' for x in turns['raw'])}."
    )
    return table, target, note


def _review(box: Sandbox, include: list[str], rounds: int) -> tuple[Table, dict[str, Any]]:
    root = sysconfig.get_paths()["stdlib"]
    runs: dict[str, list[dict[str, Any]]] = {"": [], "dask": []}
    for turn in range(rounds):
        for profile, found in runs.items():
            out = box.folder(f"report-{profile or 'local'}-{turn}")
            found.append(_script(box, REVIEW, root, out, json.dumps(include),
                                         json.dumps(EXCLUDE), CONFIG, profile))  # fmt: skip
    median = {p: sorted(r, key=lambda x: x["seconds"])[len(r) // 2] for p, r in runs.items()}
    local, dask = median[""], median["dask"]
    labels = {
        "": "local executor (worker processes, one per core)",
        "dask": "`--profile dask` (LocalCluster, one worker process per core)",
    }
    rows = [[labels[p], f"{r['files']:.0f}", f"{r['calls']:,}", f"{r['seconds']:.1f}",
             f"{r['seconds'] / local['seconds']:.2f}x", f"{r['cpu']:.1f}"]
            for p, r in median.items()]  # fmt: skip
    tree = "the whole standard library" if include == ["*.py"] else (
        f"the standard library's top-level names matching {', '.join(include)}")  # fmt: skip
    table = Table(
        ["review run by", "files", "executor calls", "wall s", "x local", "driver CPU s"],
        rows,
        caption=f"The review of {tree} ({root}, excluding {', '.join(EXCLUDE)}); the median "
        f"of {rounds} turns each.",
    )  # fmt: skip
    turns = ", ".join(f"{a['seconds']:.1f} s / {b['seconds']:.1f} s"
                      for a, b in zip(runs[""], runs["dask"], strict=True))  # fmt: skip
    return table, {"local": local, "dask": dask, "turns": turns}


def run(*, quick: bool) -> Report:
    plan = QUICK if quick else FULL
    calls, overhead_rounds = plan["overhead"]
    elements, seconds, scaling_rounds = plan["scaling"]
    include, review_rounds = plan["review"]
    with Sandbox() as box:
        per_call_table, overhead_target, per_call = _overhead(box, calls, overhead_rounds)
        scaling_table, scaling_target, scaling_note = _scaling(
            box, elements, seconds, scaling_rounds
        )
        review_table, review = _review(box, include, review_rounds)
    local, dask = review["local"], review["dask"]
    extra = dask["seconds"] - local["seconds"]
    by_calls = dask["calls"] * (per_call["dask"] - per_call["local"])
    streamed = per_call["streamed"]
    notes = [
        f"Per call: an executor hands each call's result back as it finishes (a workflow "
        f"starts what depends on it), which one `client.gather` of the whole batch cannot. "
        f"Dask's own client doing that (the `as_completed` row) costs "
        f"{streamed / per_call['raw']:.2f}x the single gather; against it the executor costs "
        f"{per_call['dask'] / streamed:.2f}x.",
        scaling_note,
        f"Review, each turn, local / dask: {review['turns']}.",
        f"The review on Dask took {extra:+.1f} s against the local executor for "
        f"{dask['calls']:,} executor calls, {extra / dask['calls'] * 1e6:+,.0f} us per call; "
        f"the per-call difference measured above ({per_call['dask'] * 1e6:,.0f} us against "
        f"{per_call['local'] * 1e6:,.0f} us) times those calls is {by_calls:.1f} s. "
        f"The driver used {dask['cpu']:.1f} s of CPU on Dask against {local['cpu']:.1f} s "
        "locally: with a LocalCluster the scheduler and the client's event loop run in the "
        "driver's process, and on two cores that time is taken from the two workers.",
        f"Load average (1 minute) when the suite finished: {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs.",
        "Dask's documentation puts the distributed scheduler's overhead at about 1 ms per "
        "task (its own published figure, for its scheduler rather than for any one client).",
    ]
    return Report(
        about=about(__doc__),
        runs=f"{overhead_rounds} rounds per call, {scaling_rounds} turns of scaling, "
        f"{review_rounds} turns of the review",
        tables=[per_call_table, scaling_table, review_table],
        targets=[overhead_target, scaling_target],
        notes=notes,
    )
