"""The ``hybrid`` CLI through the real executable in a subprocess."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import run_hybrid

BROKEN_PLUGIN = "import not_a_module_anywhere\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder with one broken and one good plugin distribution, for PYTHONPATH."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "cli_broken.py").write_text(BROKEN_PLUGIN)
    (folder / "cli_good.py").write_text(
        "import hybrid_core\n"
        "@hybrid_core.hookimpl\n"
        "def hybrid_engines():\n"
        "    return [hybrid_core.Engine(name='good.echo', capabilities={'text.echo': 3},\n"
        "                               handler=lambda p: p)]\n"
    )
    for name in ("cli_broken", "cli_good"):
        info = folder / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[hybrid_core]\n{name} = {name}\n")
    return folder


def test_plugins_json_lists_required_keys(site: Path) -> None:
    result = run_hybrid("plugins", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    for record in records.values():
        assert {"name", "distribution", "version", "hooks", "status", "error"} <= set(record)
    assert records["cli_good"]["status"] == "loaded"
    assert records["cli_good"]["hooks"] == ["hybrid_engines"]
    broken = records["cli_broken"]
    assert broken["status"] == "failed" and "not_a_module_anywhere" in broken["error"]
    assert (broken["distribution"], broken["version"]) == ("cli_broken", "1.0")


def test_plugins_table_shows_failures_on_stderr(site: Path) -> None:
    result = run_hybrid("plugins", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0
    assert "cli_good" in result.stdout and "failed" in result.stdout
    assert "cli_broken failed: plugin 'cli_broken': failed to import" in result.stderr


def test_capabilities_json_and_table(site: Path) -> None:
    result = run_hybrid("--json", "capabilities", env={"PYTHONPATH": str(site)})
    listing = {e["capability"]: e["providers"] for e in json.loads(result.stdout)}
    assert listing["text.echo"] == [
        {"kind": "engine", "name": "good.echo", "priority": 3, "origin": "cli_good",
         "version": "1.0", "description": ""}  # no version of its own: its distribution's
    ]  # fmt: skip
    table = run_hybrid("capabilities", env={"PYTHONPATH": str(site)})
    assert "text.echo" in table.stdout and "good.echo" in table.stdout
    assert table.stdout.splitlines()[0].split()[-2:] == ["version", "description"]


def test_doctor_exits_1_when_a_plugin_failed_and_0_when_healthy(site: Path) -> None:
    sick = run_hybrid("doctor", env={"PYTHONPATH": str(site)})
    assert sick.returncode == 1
    assert "FAILED plugin cli_broken" in sick.stdout
    healthy = run_hybrid(
        "doctor", "--json", env={"PYTHONPATH": str(site), "HYBRID_CORE_PLUGINS": "cli_good"}
    )
    assert healthy.returncode == 0, healthy.stdout
    assert json.loads(healthy.stdout)["healthy"] is True


def test_strict_turns_a_plugin_failure_into_exit_2(site: Path) -> None:
    result = run_hybrid("plugins", "--strict", env={"PYTHONPATH": str(site)})
    assert result.returncode == 2
    assert result.stderr.startswith("error: plugin 'strict mode': 1 problem(s)")
    assert "Traceback" not in result.stderr


def test_env_var_naming_a_missing_plugin(site: Path) -> None:
    result = run_hybrid(
        "plugins", "--json", env={"PYTHONPATH": str(site), "HYBRID_CORE_PLUGINS": "cli_goood"}
    )
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert "did you mean 'cli_good'?" in records["cli_goood"]["error"]
    assert records["cli_good"]["status"] == "disabled"


def test_invalid_toml_config_is_exit_2_with_one_message(tmp_path: Path) -> None:
    config = tmp_path / "hybrid.toml"
    config.write_text("[plugins\n")
    result = run_hybrid("plugins", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}: is not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr
    found = run_hybrid("doctor", cwd=tmp_path)  # discovered by the upward search
    assert found.returncode == 2 and "is not valid TOML" in found.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    config = tmp_path / "hybrid.toml"
    config.write_text("[plugins]\nonly = 3\n")
    result = run_hybrid("-v", "plugins", "--config", str(config))
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert "plugins.only: must be a list of names" in result.stderr


@pytest.mark.parametrize("args", [("plugins", "--bogus"), ("nosuchverb",), ("plugins", "--config")])
def test_usage_errors_are_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = run_hybrid(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_global_options_work_after_the_verb_and_help_has_examples() -> None:
    assert run_hybrid("plugins", "--json", "-q").returncode == 0
    for verb in ("plugins", "capabilities", "doctor"):
        help_text = run_hybrid(verb, "--help").stdout
        assert "Example" in help_text and "--config" in help_text


def test_python_dash_m_and_the_console_script_run_the_same_command() -> None:
    """``python -m hybrid_core`` (the README's first command) and the ``hybrid`` script."""
    version = importlib.metadata.version("hybrid-core")
    result = subprocess.run(
        [sys.executable, "-m", "hybrid_core", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"hybrid, version {version}")
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="hybrid")
    assert script.value == "hybrid_core._cli:main"
    probe = (
        "import sys, importlib.metadata as md\n"
        "(ep,) = md.entry_points(group='console_scripts', name='hybrid')\n"
        "import hybrid_core._cli.visual\n"
        "assert 'click' not in sys.modules, 'a sibling of the CLI imported click'\n"
        "assert callable(ep.load())\n"
        "print('ok')\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert loaded.stdout.strip() == "ok", loaded.stderr


@pytest.mark.parametrize("raising", ["sys.exit(3)", "raise KeyboardInterrupt"])
def test_a_hook_that_exits_is_that_plugins_failure(tmp_path: Path, raising: str) -> None:
    (tmp_path / "cli_exits.py").write_text(
        f"import sys, hybrid_core\n@hybrid_core.hookimpl\ndef hybrid_engines():\n    {raising}\n"
    )
    info = tmp_path / "cli_exits-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cli_exits\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\ncli_exits = cli_exits\n")
    listed = run_hybrid("plugins", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert listed.returncode == 0, listed.stderr
    (record,) = [r for r in json.loads(listed.stdout) if r["name"] == "cli_exits"]
    assert record["status"] == "failed"
    assert "hybrid_engines" in record["error"]
    doctor = run_hybrid("doctor", env={"PYTHONPATH": str(tmp_path)})
    assert doctor.returncode == 1
    assert "FAILED plugin cli_exits" in doctor.stdout


NOISY_PLUGIN = '''
import hybrid_core
print("noise at import")

def shout(payload):
    print("noise from a worker process")
    return payload

@hybrid_core.hookimpl
def hybrid_engines():
    print("noise from a hook")
    return [hybrid_core.Engine(name="noisy.echo", capabilities={"text.noisy": 1},
                               handler=shout, process=True)]
'''

NOISY_FLOW = '''
import hybrid_core as hc
wf = hc.Workflow("noisy", inputs=["x"])
wf.add(hc.capability_step("echo", "text.noisy", x=hc.input("x")))
wf.returns("echo")
'''


def test_with_json_whatever_plugins_print_goes_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "noisy_plugin.py").write_text(NOISY_PLUGIN)
    (tmp_path / "noisy_flow.py").write_text(NOISY_FLOW)
    info = tmp_path / "noisy_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: noisy-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\nnoisy = noisy_plugin\n")
    env = {"PYTHONPATH": str(tmp_path)}
    listed = run_hybrid("capabilities", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "text.noisy" in {row["capability"] for row in json.loads(listed.stdout)}
    assert "noise at import" in listed.stderr and "noise from a hook" in listed.stderr
    ran = run_hybrid("run", "noisy_flow:wf", "-i", "x=1", "--json", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["value"] == {"x": "1"}
    assert "noise from a worker process" in ran.stderr


SHUTDOWN_FAILS = '''
import hybrid_core

@hybrid_core.hookimpl
def hybrid_shutdown(system):
    raise RuntimeError("the cache could not be flushed")
'''

QUIET_FLOW = '''
import hybrid_core as hc

def double(x):
    return 2 * int(x)

wf = hc.Workflow("quiet", inputs=["x"])
wf.step("double", double, x=hc.input("x"))
wf.returns("double")
'''


def _plugin(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(source)
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[hybrid_core]\n{name} = {name}\n")


def test_a_failing_shutdown_hook_is_shown_by_doctor_and_run(tmp_path: Path) -> None:
    _plugin(tmp_path, "cli_shutdown", SHUTDOWN_FAILS)
    (tmp_path / "quiet_flow.py").write_text(QUIET_FLOW)
    env = {"PYTHONPATH": str(tmp_path)}
    doctor = run_hybrid("doctor", env=env)
    assert doctor.returncode == 1, doctor.stdout
    assert "the cache could not be flushed" in doctor.stdout
    ran = run_hybrid("run", "quiet_flow:wf", "-i", "x=2", "-q", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    (line,) = ran.stderr.splitlines()
    assert line.startswith("warning: while closing: ")
    assert "hybrid_shutdown" in line and "the cache could not be flushed" in line


def test_a_run_next_to_a_broken_plugin_says_so_in_one_line(tmp_path: Path) -> None:
    _plugin(tmp_path, "cli_broken_import", "import not_a_module_anywhere\n")
    (tmp_path / "quiet_flow.py").write_text(QUIET_FLOW)
    ran = run_hybrid(
        "run", "quiet_flow:wf", "-i", "x=2", "-q", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}
    )
    assert ran.returncode == 0, ran.stderr
    (line,) = ran.stderr.splitlines()
    assert line.startswith("warning: plugin 'cli_broken_import' failed to load and was left out")
    assert "not_a_module_anywhere" in line and "hybrid doctor" in line


def test_a_slow_plugin_import_is_named_by_doctor_and_with_v(tmp_path: Path) -> None:
    # Sleeping past the threshold makes the import slow by construction, on any machine.
    slow = "import time\nimport hybrid_core\ntime.sleep(0.8)\n\n@hybrid_core.hookimpl\n"
    _plugin(tmp_path, "cli_slow", slow + "def hybrid_startup(system):\n    pass\n")
    env = {"PYTHONPATH": str(tmp_path)}
    doctor = run_hybrid("doctor", env=env)
    assert "SLOW plugin cli_slow took" in doctor.stdout
    report = json.loads(run_hybrid("doctor", "--json", env=env).stdout)
    (slow,) = report["slow_plugins"]
    assert slow["name"] == "cli_slow" and slow["import_seconds"] >= 0.8
    verbose = run_hybrid("plugins", "-v", env=env)
    assert "plugin 'cli_slow' took" in verbose.stderr and "to import" in verbose.stderr
    listed = json.loads(run_hybrid("plugins", "--json", env=env).stdout)
    (record,) = [r for r in listed if r["name"] == "cli_slow"]
    assert record["import_seconds"] >= 0.8


def test_help_lists_every_verb_without_cutting_its_description() -> None:
    result = run_hybrid("--help", env={"COLUMNS": "80"})
    assert result.returncode == 0
    listing = result.stdout.split("Commands:", 1)[1]
    assert "..." not in listing
    assert "exit 1 on any problem." in " ".join(listing.split())


def test_shell_completion_completes_verbs() -> None:
    env = {"_HYBRID_COMPLETE": "bash_complete", "COMP_WORDS": "hybrid pl", "COMP_CWORD": "1"}
    result = run_hybrid(env=env)
    assert result.stdout.split() == ["plain,plan", "plain,plugins"]
    script = run_hybrid(env={"_HYBRID_COMPLETE": "bash_source"})
    assert "_hybrid_completion()" in script.stdout


def test_capabilities_show_each_engines_description(tmp_path: Path) -> None:
    (tmp_path / "described.py").write_text(
        "import hybrid_core\n"
        "@hybrid_core.hookimpl\n"
        "def hybrid_engines():\n"
        "    return [hybrid_core.Engine(name='described.up', capabilities={'text.up': 1},\n"
        "            handler=str.upper, description='Upper-cases text, for listings.')]\n"
    )
    info = tmp_path / "described-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: described\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\ndescribed = described\n")
    env = {"PYTHONPATH": str(tmp_path), "HYBRID_CORE_PLUGINS": "described"}
    listed = run_hybrid("capabilities", "--json", env=env)
    (entry,) = json.loads(listed.stdout)
    assert entry["providers"][0]["description"] == "Upper-cases text, for listings."
    table = run_hybrid("capabilities", env=env).stdout.splitlines()
    assert table[0].split()[-1] == "description"
    assert table[1].endswith("Upper-cases text, for listings.")
