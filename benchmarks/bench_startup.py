"""System start-up: ``Hybrid().start()`` then ``close()`` with 1 and with 50 plugins installed.

The plugins are real distributions written into a temporary folder on the subprocess's
``PYTHONPATH``: a module whose ``@hybrid_core.hookimpl hybrid_engines()`` returns one
engine, and a ``.dist-info`` folder with ``METADATA`` and an ``entry_points.txt`` naming
it in the ``hybrid_core`` group, which ``importlib.metadata`` finds like a pip-installed
one. Every run is a fresh interpreter, so the per-process entry-point scan cache is cold;
``import hybrid_core`` happens before the clock starts (see the import suite). In the same
process a second ``Hybrid`` then starts and closes warm: scan cached, plugin modules
already imported. Separate fresh interpreters time ``scan_entry_points()`` alone, cold,
to show how much of a cold start the scan is.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from _common import Report, Sandbox, Table, about, ms

TITLE = "System start-up"
PLUGIN_COUNTS = (1, 50)
CAPABILITY = "bench.echo"
HEADERS = ("plugins", "distributions", "cold start + close ms", "scan ms",
           "of which `import importlib.metadata` ms", "scan share of cold",
           "warm start + close ms")  # fmt: skip

PLUGIN = '''\
"""Benchmark plugin {index}: provides one engine."""

import hybrid_core


def _echo(payload):
    return payload


@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="bench.engine{index}", capabilities={{"{cap}": 1}},
                               handler=_echo)]
'''

START = """\
import json, time
import hybrid_core
t0 = time.perf_counter()
system = hybrid_core.Hybrid().start()
t1 = time.perf_counter()
engines, failures = len(system.providers({cap!r})), [p.name for p in system.failures]
t2 = time.perf_counter()
system.close()
t3 = time.perf_counter()
hybrid_core.Hybrid().start().close()
t4 = time.perf_counter()
print(json.dumps(dict(cold=t1 - t0 + t3 - t2, warm=t4 - t3, engines=engines, failures=failures)))
"""

SCAN = """\
import json, time
from hybrid_core._plugins.manager import scan_entry_points
t0 = time.perf_counter()
import importlib.metadata
t1 = time.perf_counter()
scan_entry_points()
t2 = time.perf_counter()
print(json.dumps(dict(scan=t2 - t0, metadata_import=t1 - t0)))
"""

ENTRY_POINTS = (
    "from hybrid_core._plugins.manager import scan_entry_points as s; print(*(r.name for r in s()))"
)

COUNT = "import importlib.metadata as m; print(len(list(m.distributions())))"


def install(site: Path, count: int) -> list[str]:
    """Write ``count`` plugin distributions into ``site``; return their entry-point names."""
    names = []
    for index in range(count):
        module = f"hybrid_bench_plugin_{index:03d}"
        (site / f"{module}.py").write_text(PLUGIN.format(index=index, cap=CAPABILITY))
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        dist = module.replace("_", "-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        names.append(f"bench{index:03d}")
        (info / "entry_points.txt").write_text(f"[hybrid_core]\n{names[-1]} = {module}\n")
    return names


class Environment:
    """One folder of generated plugins and the fresh-interpreter runs against it."""

    def __init__(self, box: Sandbox, count: int) -> None:
        self.box, self.count = box, count
        self.site = box.folder(f"site-{count}")
        # Load exactly these plugins; other hybrid_core plugins installed in the
        # environment are still scanned, but recorded as disabled and not imported.
        self.env = {"HYBRID_CORE_PLUGINS": ",".join(install(self.site, count))}

    def python(self, code: str) -> str:
        return self.box.python(code, paths=[self.site], extra_env=self.env).stdout

    def start(self) -> dict[str, float]:
        """One cold and one warm start; raise unless every generated engine registered."""
        found = json.loads(self.python(START.format(cap=CAPABILITY)))
        if found.pop("engines") != self.count or found.pop("failures"):
            raise RuntimeError(f"start-up with {self.count} plugin(s) went wrong: {found}")
        return found

    def scan(self) -> dict[str, float]:
        return json.loads(self.python(SCAN))

    def distributions(self) -> int:
        """How many distributions ``importlib.metadata`` finds on the path."""
        return int(self.python(COUNT))

    def other_plugins(self) -> list[str]:
        """The ``hybrid_core`` entry points found besides the generated ones."""
        generated = self.env["HYBRID_CORE_PLUGINS"].split(",")
        return [name for name in self.python(ENTRY_POINTS).split() if name not in generated]


def measure(envs: list[Environment], runs: int) -> dict[int, dict[str, float]]:
    """Median seconds per plugin count and figure; the runs take turns, round by round."""
    for env in envs:  # a first run writes the .pyc files; keep it out of the figures
        env.start()
    samples: dict[int, dict[str, list[float]]] = {env.count: {} for env in envs}
    for _ in range(runs):
        for env in envs:
            for key, value in {**env.start(), **env.scan()}.items():
                samples[env.count].setdefault(key, []).append(value)
    return {
        count: {key: statistics.median(values) for key, values in figures.items()}
        for count, figures in samples.items()
    }


def table(found: dict[int, dict[str, float]], dists: dict[int, int]) -> Table:
    rows = []
    for count, f in found.items():
        share = f"{f['scan'] / f['cold']:.0%}"
        cells = [f["cold"], f["scan"], f["metadata_import"]]
        rows.append((str(count), str(dists[count]), *map(ms, cells), share, ms(f["warm"])))
    return Table(HEADERS, rows)


def run(*, quick: bool) -> Report:
    runs = 5 if quick else 40
    with Sandbox() as box:
        envs = [Environment(box, count) for count in PLUGIN_COUNTS]
        found = measure(envs, runs)
        dists = {env.count: env.distributions() for env in envs}
        others = envs[0].other_plugins()
    base = dists[envs[0].count] - envs[0].count
    return Report(
        about=about(__doc__),
        runs=f"Each figure is the median of {runs} fresh interpreters",
        tables=[table(found, dists)],
        notes=[
            "The entry-point scan reads the metadata of every distribution on the path, "
            "so its cost grows with the number of installed distributions, hybrid_core "
            f"plugins or not. This environment had {base} distributions besides the "
            "generated plugins (the *distributions* column counts both).",
            "The scan's first step is importing `importlib.metadata`, which "
            "`import hybrid_core` leaves out on purpose; that part does not grow.",
            f"Other hybrid_core plugins installed in the environment: {len(others)} "
            f"({', '.join(others) or 'none'}); scanned but not loaded, since "
            "`HYBRID_CORE_PLUGINS` lists only the generated ones.",
            "*warm* is a second `Hybrid` in the same process: the scan is cached and the "
            "plugin modules are already imported.",
        ],
    )
