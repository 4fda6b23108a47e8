"""Import time: ``import hybrid_core`` against importing its runtime dependencies.

Every figure comes from fresh interpreters, one per import: the interpreter reads the
clock, runs the import statement, and prints the elapsed time, so interpreter start-up and
shutdown are left out. The statements take turns, round after round, and each figure is
the median. The "process" column is the same runs seen from outside: the subprocess's wall
time minus that of a bare ``python -c pass``, which adds interpreter shutdown and process
creation noise. The modules table ranks what ``import hybrid_core`` loads beyond its
dependencies, with its first use of ``Hybrid``, ``Workflow`` and ``capability_step``,
by self time under ``python -X importtime`` (median over separate runs; the profiler
inflates every figure a little, so use it to rank, not as absolute times).

The package's public names load their modules on first use, so ``import hybrid_core``
alone loads only the exceptions, the hook specifications and pluggy. The row "then
Hybrid, Workflow, capability_step" is what a host pays once it touches the whole
system; it is the figure the target compares with the dependencies, the import cost of a
program that runs workflows.
"""

from __future__ import annotations

import re
import statistics
import sys

from _common import PACKAGE, Report, Sandbox, Table, Target, about, interleaved, ms, ratio

TITLE = "Import time"
TARGET = 1.25
DEPS = "asyncio, pluggy, attrs, loguru"
CORE = "hybrid_core"
CLI_DEPS = f"{DEPS}, click"
CLI = "hybrid_core, hybrid_core._cli.app"
BARE = "pass"
# What a host pays once it uses the system: the package's public names load lazily.
FULL = "hybrid_core (then Hybrid, Workflow, capability_step)"
_FULL_STATEMENT = (
    "import hybrid_core; hybrid_core.Hybrid, hybrid_core.Workflow, hybrid_core.capability_step"
)
TOP_MODULES = 12

PROBE = "import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)\n"
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| *(\S+)$", re.MULTILINE)


def statement(modules: str) -> str:
    if modules == FULL:
        return _FULL_STATEMENT
    return modules if modules == BARE else f"import {modules}"


def sample(box: Sandbox, runs: int) -> dict[str, tuple[float, float]]:
    """Median (in-process import seconds, process wall seconds) per set of modules."""
    cases = [BARE, DEPS, CORE, FULL, CLI_DEPS, CLI]
    for case in cases:  # a first run writes the .pyc files; keep it out of the figures
        box.python(PROBE.format(statement=statement(case)))
    walls: dict[str, list[float]] = {case: [] for case in cases}

    def once(case: str) -> float:
        result = box.python(PROBE.format(statement=statement(case)))
        walls[case].append(result.wall)
        return float(result.stdout)

    inside = interleaved(cases, runs, once)
    return {case: (inside[case], statistics.median(walls[case])) for case in cases}


# Times attrs' class building (the generated methods are compiled as each class is
# made) during the package's import with first use: (classes, seconds in them, whole).
ATTRS_PROBE = """import time
import attr._make as make
build = make._ClassBuilder.build_class
spent = [0, 0.0]
def timed(self):
    t = time.perf_counter()
    cls = build(self)
    spent[0] += cls.__module__.startswith("hybrid_core")
    spent[1] += (time.perf_counter() - t) if cls.__module__.startswith("hybrid_core") else 0.0
    return cls
make._ClassBuilder.build_class = timed
t = time.perf_counter()
{statement}
print(spent[0], spent[1], time.perf_counter() - t)
"""


def attrs_share(box: Sandbox, runs: int) -> tuple[int, float, float] | None:
    """Median (attrs classes, seconds building them, whole import) of the full import;
    None where attrs no longer builds classes the way the probe hooks into."""
    try:
        seen = [
            box.python(ATTRS_PROBE.format(statement=_FULL_STATEMENT)).stdout.split()
            for _ in range(runs)
        ]
    except Exception:  # noqa: BLE001 - a figure for a note, not one of the suite's
        return None
    return (
        int(seen[0][0]),
        statistics.median(float(r[1]) for r in seen),
        statistics.median(float(r[2]) for r in seen),
    )


def timing_table(found: dict[str, tuple[float, float]]) -> Table:
    bare_wall = found[BARE][1]
    base_of = {DEPS: None, CORE: DEPS, FULL: DEPS, CLI_DEPS: None, CLI: CLI_DEPS}
    rows = []
    for case, base in base_of.items():
        inside, wall = found[case]
        versus = "baseline" if base is None else ratio(inside, found[base][0])
        rows.append((f"`import {case}`", ms(inside), versus, ms(wall - bare_wall)))
    return Table(("statement", "import ms", "vs dependencies", "process ms"), rows)


def profile(text: str) -> dict[str, int]:
    """Module -> self time in microseconds, from ``-X importtime`` output."""
    return {m[2]: int(m[1]) for m in _IMPORTTIME.finditer(text)}


def beyond_dependencies(box: Sandbox, runs: int) -> Table:
    """What the package loads (with its first use) that its dependencies do not, by
    median self time."""
    deps = profile(box.python(statement(DEPS), "-X", "importtime").stderr)
    runs_seen = [
        profile(box.python(statement(FULL), "-X", "importtime").stderr) for _ in range(runs)
    ]
    extra = [name for name in runs_seen[0] if name not in deps]
    self_us = {n: statistics.median(r[n] for r in runs_seen if n in r) for n in extra}
    ranked = sorted(extra, key=self_us.__getitem__, reverse=True)
    rows = [(f"`{n}`", origin(n), ms(self_us[n] / 1e6)) for n in ranked[:TOP_MODULES]]
    for name in (PACKAGE, "stdlib", "third party"):
        group = [v for n, v in self_us.items() if origin(n) == name]
        if group:
            rows.append((f"all {len(group)} modules", name, ms(sum(group) / 1e6)))
    caption = (
        f"Modules loaded by `import {FULL}` and not by `import {DEPS}`, "
        f"top {TOP_MODULES} by self time (`-X importtime`, median of {runs} runs):"
    )
    return Table(("module", "from", "self ms"), rows, caption)


def origin(module: str) -> str:
    top = module.split(".", maxsplit=1)[0]
    if top == PACKAGE:
        return PACKAGE
    return "stdlib" if top in sys.stdlib_module_names else "third party"


def run(*, quick: bool) -> Report:
    runs, profiles = (8, 3) if quick else (60, 20)
    with Sandbox() as box:
        found = sample(box, runs)
        modules = beyond_dependencies(box, profiles)
        share = attrs_share(box, profiles)
    core, deps, full = found[CORE][0], found[DEPS][0], found[FULL][0]
    return Report(
        about=about(__doc__),
        runs=f"Each import figure is the median of {runs} fresh interpreters",
        tables=[timing_table(found), modules],
        targets=[
            Target(
                f"`import {FULL}` costs at most {TARGET}x `import {DEPS}`",
                f"{full / deps:.2f}x ({ms(full)} ms against {ms(deps)} ms)",
                full / deps <= TARGET,
            )
        ],
        notes=[
            f"`import {CORE}` alone costs {core / deps:.2f}x its dependencies "
            f"({ms(core)} ms against {ms(deps)} ms): its public names load on first use.",
            f"`import {CORE}` does not import the CLI layer; `hybrid_core._cli` (and click) "
            "load only for the `hybrid` command, so its row is compared with the "
            "dependencies plus click.",
            *(
                [
                    f"Of the full import, {ms(share[1])} ms is attrs building the "
                    f"package's {share[0]} attrs classes (it compiles each class's generated "
                    f"methods as the class is made), of {ms(share[2])} ms the same statement "
                    "took in those runs, which import attrs before starting the clock."
                ]
                if share is not None
                else []
            ),
            "Modules the interpreter loads while starting (`site`, `.pth` hooks of the "
            "environment) count on neither side.",
        ],
    )
