"""``hybrid new``: the scaffold's files, its refusals, and the scaffold as a user gets it.

The last part is the path a plugin author takes: a fresh virtual environment, hybrid_core
pip-installed from this source tree, ``hybrid new`` from that installation (so the
templates must be in the installed package), ``pip install`` of each scaffold (not
editable: what the wheel holds, such as ``workflows.toml``, is all there is), its own
tests run with pytest, ``hybrid plugins``, ``hybrid list KIND`` and ``hybrid workflows``
listing what it provides with its plugin, and ``hybrid -p MODULE`` loading a module that
is not installed. One environment serves every kind, so the whole part costs one venv
and one ``pip install`` of the scaffolds.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import run_hybrid

from hybrid_core._cli.new import KINDS, hooks, parse_kinds, plugin_names, render

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 environment has tomli, a dependency there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# Each kind alone, and one distribution with all of them.
SCAFFOLDS = {**{f"demo-{kind}": kind for kind in KINDS}, "hybrid-core-every": ",".join(KINDS)}


# -- the files --------------------------------------------------------------------------


@pytest.mark.parametrize("kinds", [*KINDS, ",".join(KINDS)])
def test_every_file_is_filled_in_and_the_python_parses(kinds: str) -> None:
    files = render(parse_kinds(kinds), plugin_names("acme-text"))
    for relative, text in files.items():
        if relative.endswith(".py"):
            ast.parse(text, relative)
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["name"] == "acme-text"
    assert project["entry-points"]["hybrid_core"] == {"acme-text": "acme_text"}
    for kind in parse_kinds(kinds):
        assert f"src/acme_text/{kind}.py" in files
        assert f"tests/test_{kind}.py" in files
        assert KINDS[kind] in files["src/acme_text/__init__.py"]
    package_data = tomllib.loads(files["pyproject.toml"])["tool"]["setuptools"]["package-data"]
    shipped = "workflow" in kinds
    assert ("src/acme_text/workflows.toml" in files) is shipped
    assert package_data == {"acme_text": ["py.typed", *(["workflows.toml"] if shipped else [])]}
    if shipped:
        tables = tomllib.loads(files["src/acme_text/workflows.toml"])
        assert list(tables) == ["workflows"]
        assert list(tables["workflows"]) == ["acme-text.summary"]
    configured = "sink" in kinds or "executor" in kinds or "strategy" in kinds
    assert ("src/acme_text/settings.py" in files) is configured
    assert ("hybrid_settings" in files["src/acme_text/__init__.py"]) is configured


def test_the_names_derived_from_name() -> None:
    names = plugin_names("hybrid-core-acme")
    assert (names.distribution, names.package, names.plugin) == (
        "hybrid-core-acme",
        "hybrid_core_acme",
        "acme",
    )
    names = plugin_names("Acme_Text")
    assert (names.package, names.plugin) == ("acme_text", "acme-text")


def test_several_kinds_come_in_one_order_whatever_order_they_are_given() -> None:
    assert parse_kinds("workflow, engine,ENGINE") == ("engine", "workflow")


def test_it_writes_the_folder_and_says_what_it_wrote(tmp_path: Path) -> None:
    done = run_hybrid("new", "engine,sink", "acme-text", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["kinds"] == ["engine", "sink"]
    assert report["plugin"] == "acme-text"
    written = sorted(
        str(p.relative_to(tmp_path / "acme-text")).replace(os.sep, "/")
        for p in (tmp_path / "acme-text").rglob("*")
        if p.is_file()
    )
    assert written == report["files"]
    assert "tests/test_sink.py" in written


def test_dir_puts_it_elsewhere_and_creates_the_parents(tmp_path: Path) -> None:
    done = run_hybrid("new", "strategy", "acme", "--dir", "deep/er/acme", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "deep/er/acme/src/acme/strategy.py").is_file()
    assert "cd deep/er/acme" in done.stdout


def test_an_existing_folder_is_never_touched(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "keep.txt").write_text("mine")
    done = run_hybrid("new", "engine", "acme", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: acme already exists;")
    assert len(done.stderr.strip().splitlines()) == 1
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("new", "engin", "acme"), "unknown kind 'engin' (did you mean 'engine'?)"),
        (("new", "engine,", "acme"), "unknown kind ''"),
        (("new", "engine", "acme/text"), "plugin name 'acme/text' is not valid"),
        (("new", "engine", "_acme"), "plugin name '_acme' is not valid"),
        (("new", "engine", "acme--text"), "plugin name 'acme--text' is not valid"),
        (("new", "engine", "json"), "would make the package 'json', which shadows"),
        (("new", "engine", "hybrid_core"), "would make the package 'hybrid_core'"),
        (("new", "engine", "class"), "would make the package 'class'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_writing_nothing(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = run_hybrid(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# -- as a user gets it ------------------------------------------------------------------


def _run(
    args: list[str], *, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    # Nothing of the test process's own environment leaks in: no PYTHONPATH, no plugin
    # selection, no outer virtual environment.
    drop = {"PYTHONPATH", "HYBRID_CORE_PLUGINS", "VIRTUAL_ENV", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with hybrid_core installed from this source tree."""
    pytest.importorskip("setuptools", reason="building distributions needs setuptools")
    base = tmp_path_factory.mktemp("venv")
    # A copy, so that the build leaves nothing in the source tree.
    source = base / "hybrid-core"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "hybrid_core", source / "hybrid_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = base / "env"
    _ok(_run([sys.executable, "-m", "venv", str(env)]))
    python = str(env / "bin" / "python")
    # Build tools once, then no build isolation: no fresh setuptools per distribution.
    _ok(_run([python, "-m", "pip", "install", "-q", "setuptools>=77", "pytest>=8"]))
    _ok(_run([python, "-m", "pip", "install", "-q", "--no-build-isolation", str(source)]))
    return env


@pytest.mark.parametrize("name", ["acme-text", "acme-corporation-text-tools"])
def test_the_generated_code_passes_ruff_with_the_settings_it_ships(
    tmp_path: Path, name: str
) -> None:
    pytest.importorskip("ruff", reason="ruff is not installed (tox installs it)")
    project = tmp_path / name
    for relative, text in render(parse_kinds(",".join(KINDS)), plugin_names(name)).items():
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=project, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def scaffolds(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every scaffold, written by the venv's own ``hybrid new`` and pip-installed there."""
    work = tmp_path_factory.mktemp("scaffolds")
    written = {}
    for name, kinds in SCAFFOLDS.items():
        _ok(_run([str(venv / "bin" / "hybrid"), "new", kinds, name], cwd=work))
        written[name] = work / name
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-build-isolation"]
    _ok(_run([*pip, *map(str, written.values())]))
    return written


@pytest.mark.parametrize("name", SCAFFOLDS)
def test_the_generated_tests_pass_on_first_run(
    venv: Path, scaffolds: dict[str, Path], name: str
) -> None:
    python = str(venv / "bin" / "python")
    out = _ok(_run([python, "-m", "pytest", "-p", "no:cacheprovider", "-rs"], cwd=scaffolds[name]))
    assert " passed" in out
    assert " failed" not in out
    # The entry-point tests ran for real: they skip only when the distribution is not
    # installed. (A contract check that does not apply to the example, such as start and
    # stop for an engine without them, is skipped with its reason.)
    assert "is not installed" not in out, out


def test_hybrid_plugins_lists_every_scaffold_loaded(
    venv: Path, scaffolds: dict[str, Path]
) -> None:
    out = _ok(_run([str(venv / "bin" / "hybrid"), "plugins", "--json"]))
    records = {r["name"]: r for r in json.loads(out)}
    for name, kinds in SCAFFOLDS.items():
        plugin = plugin_names(name).plugin
        record = records[plugin]
        assert (record["status"], record["distribution"]) == ("loaded", name), record
        assert sorted(record["hooks"]) == hooks(parse_kinds(kinds))


def _provided(kind: str) -> dict[str, tuple[str, str]]:
    """For each scaffold of ``kind``, by plugin: its package and the provider it gives."""
    suffix = {"engine": ".words", "workflow": ".summary"}.get(kind, "")
    found: dict[str, tuple[str, str]] = {}
    for name, kinds in SCAFFOLDS.items():
        if kind in parse_kinds(kinds):
            names = plugin_names(name)
            found[names.plugin] = (names.package, names.plugin + suffix)
    return found


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("engine", ["list", "engines"]),
        ("strategy", ["list", "strategies"]),
        ("sink", ["list", "sinks"]),
        ("executor", ["list", "executors"]),
        ("workflow", ["list", "workflows"]),
        ("workflow", ["workflows"]),
    ],
)
def test_each_scaffolds_provider_is_listed_with_its_plugin(
    venv: Path,
    scaffolds: dict[str, Path],
    tmp_path: Path,
    kind: str,
    command: list[str],
) -> None:
    # A sink is attached (and listed) only when [telemetry] sinks names it.
    sinks = list(_provided("sink"))
    (tmp_path / "hybrid.toml").write_text(f"[telemetry]\nsinks = {json.dumps(sinks)}\n")
    out = _ok(_run([str(venv / "bin" / "hybrid"), "--strict", *command, "--json"], cwd=tmp_path))
    rows = json.loads(out)
    listed: dict[str, list[str]] = {}
    for row in rows:
        # Workflows name their origin (a plugin, or "config"); the other kinds their plugin.
        listed.setdefault(row["origin" if kind == "workflow" else "plugin"], []).append(row["name"])
    for plugin, (package, provider) in _provided(kind).items():
        assert listed.get(plugin) == [provider], (plugin, listed)
        if kind == "workflow":
            # Read from the installed wheel: the package data made it in.
            (row,) = [r for r in rows if r["name"] == provider]
            assert row["file"] == f"{package}/workflows.toml"


def test_dash_p_loads_a_plugin_module_that_is_not_installed(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "dev_words.py").write_text(
        "import hybrid_core\n\n\n"
        "@hybrid_core.hookimpl\n"
        "def hybrid_engines():\n"
        "    return [hybrid_core.Engine(name='dev.words', capabilities={'dev.words': 10},\n"
        "                               handler=lambda payload: len(payload.split()))]\n"
    )
    hybrid = str(venv / "bin" / "hybrid")
    records = json.loads(_ok(_run([hybrid, "-p", "dev_words", "plugins", "--json"], cwd=tmp_path)))
    (record,) = [r for r in records if r["name"] == "dev_words"]
    assert (record["status"], record["source"], record["hooks"]) == (
        "loaded",
        "explicit",
        ["hybrid_engines"],
    )
    engines = _ok(_run([hybrid, "-p", "dev_words", "list", "engines", "--json"], cwd=tmp_path))
    assert {"name": "dev.words", "plugin": "dev_words"}.items() <= next(
        row for row in json.loads(engines) if row["name"] == "dev.words"
    ).items()
    # Without -p it is nowhere: the folder is not a plugin by being the working directory.
    records = json.loads(_ok(_run([hybrid, "plugins", "--json"], cwd=tmp_path)))
    assert "dev_words" not in {r["name"] for r in records}
