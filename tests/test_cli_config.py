"""``hybrid validate`` and ``hybrid config show`` through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import run_hybrid

NO_PLUGINS = {"HYBRID_CORE_PLUGINS": ""}


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    (tmp_path / "base.toml").write_text('[routing]\nretries = 1\nstrategy = "${STRAT:-priority}"\n')
    (tmp_path / "hybrid.toml").write_text(
        'extends = ["base.toml"]\n[routing]\nretries = 3\n'
        '[profile.ci.routing]\nstrategy = "round_robin"\n'
    )
    return tmp_path


def test_config_show_with_origins(configs: Path) -> None:
    result = run_hybrid("config", "show", "--origin", cwd=configs, env=NO_PLUGINS)
    assert result.returncode == 0, result.stderr
    assert f"routing.retries = 3  # {configs / 'hybrid.toml'}:routing.retries" in result.stdout
    assert f'routing.strategy = "priority"  # {configs / "base.toml"}:routing.strategy' in (
        result.stdout
    )


def test_config_show_with_a_profile_and_variables(configs: Path) -> None:
    ci = run_hybrid("config", "show", "--json", "--profile", "ci", cwd=configs, env=NO_PLUGINS)
    assert json.loads(ci.stdout)["routing"]["strategy"] == "round_robin"
    env = run_hybrid("config", "show", "--json", cwd=configs, env={**NO_PLUGINS, "STRAT": "x"})
    assert json.loads(env.stdout)["routing"]["strategy"] == "x"


def test_unknown_profile_is_exit_2_with_a_did_you_mean(configs: Path) -> None:
    result = run_hybrid("config", "show", "--profile", "cj", cwd=configs, env=NO_PLUGINS)
    assert result.returncode == 2
    assert "no profile is named 'cj' (did you mean 'ci'?" in result.stderr


def test_validate_reports_every_problem_with_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text(
        "[routing]\nretries = -1\nstrategy = 3\n"
        "[workflows.w.steps.a]\ncall = 'json:nosuch'\n"
    )
    result = run_hybrid("validate", cwd=tmp_path, env=NO_PLUGINS)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    config = tmp_path / "hybrid.toml"
    assert f"{config}: routing.retries: must be a whole number >= 0, not an integer (-1)" in lines
    strategy = f"{config}: routing.strategy: must be a strategy name"
    assert any(line.startswith(strategy) for line in lines)
    assert "Traceback" not in result.stderr


def test_the_review_example_is_valid_and_declares_no_workflow_of_its_own() -> None:
    # The review workflow ships in hybrid-core-review; the example only adds settings.
    config = Path(__file__).resolve().parent.parent / "examples" / "review" / "hybrid.toml"
    result = run_hybrid("validate", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True and data["workflows"] == []


# -- names resolved against the plugins; file problems apart from the environment's --------

MISSPELLED = """
[routing]
strategy = "performance_basd"
[routing.capabilities]
"text.echo" = "round_robn"
[executor]
name = "dsak"
[telemetry]
sinks = ["memory"]
[telemetry.jsnol]
path = "x"
"""


def test_validate_resolves_strategies_executor_and_sink_tables(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text(MISSPELLED)
    result = run_hybrid("validate", cwd=tmp_path, env=NO_PLUGINS)
    assert result.returncode == 2, result.stdout
    config = tmp_path / "hybrid.toml"
    lines = result.stderr.splitlines()
    assert lines[0] == "problems in the configuration (5):"
    assert f"{config}: routing.strategy: no routing strategy is named 'performance_basd' " \
        "(did you mean 'performance_based'?)" in lines  # fmt: skip
    assert f'{config}: routing.capabilities."text.echo": no routing strategy is named ' \
        "'round_robn' (did you mean 'round_robin'?)" in lines  # fmt: skip
    assert any(f"{config}: executor.name: no plugin provides an executor named 'dsak'" in line
               for line in lines)  # fmt: skip
    assert any(f"{config}: telemetry.jsnol: settings for a sink named 'jsnol'" in line
               and "did you mean 'jsonl'?" in line for line in lines)  # fmt: skip
    assert "is not valid: 5 problem(s) in the file" in result.stdout


BROKEN = "import not_a_module_anywhere\n"


def _broken_site(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "cfg_broken.py").write_text(BROKEN)
    info = site / "cfg_broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cfg_broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hybrid_core]\ncfg_broken = cfg_broken\n")
    return {"PYTHONPATH": str(site), "HYBRID_CORE_PLUGINS": "cfg_broken"}


def test_validate_keeps_file_problems_apart_from_failed_plugins(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text(
        '[telemetry]\nsinks = ["otel"]\n'
        "[workflows.w.steps.a]\ncall = 'json:dumps'\nargs = { obj = 1 }\ntimeout = nan\n"
    )
    result = run_hybrid("validate", "--json", cwd=tmp_path, env=_broken_site(tmp_path))
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["config"] == str(tmp_path / "hybrid.toml")
    (problem,) = data["problems"]
    assert problem.endswith("workflows.w.steps.a.timeout: must be a finite number of "
                            "seconds > 0, not a number (nan)")  # fmt: skip
    failed, sink = data["environment"]
    assert failed.startswith("plugin 'cfg_broken' failed to load:")
    assert "telemetry.sinks[0]: no plugin provides a sink named 'otel'" in sink
    assert sink.endswith("plugin 'cfg_broken', which failed to load, may have provided it")


def test_a_file_a_failed_plugin_may_have_served_is_not_valid_here(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text('[telemetry]\nsinks = ["otel"]\n')
    result = run_hybrid("validate", cwd=tmp_path, env=_broken_site(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "problems in the configuration" not in result.stderr
    assert "problems in the environment (2)" in result.stderr
    assert "is not valid here: a plugin that failed to load may have provided" in result.stdout


def test_a_file_that_needs_no_failed_plugin_is_valid(tmp_path: Path) -> None:
    (tmp_path / "hybrid.toml").write_text('[routing]\nstrategy = "round_robin"\n')
    result = run_hybrid("validate", cwd=tmp_path, env=_broken_site(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "is valid; workflows: none (no name it uses needs the 1 plugin(s)" in result.stdout
    assert "plugin 'cfg_broken' failed to load" in result.stderr


# -- a run whose routed requests all failed on configuration ------------------------------

REVIEW = Path(__file__).resolve().parent.parent / "examples" / "review" / "hybrid.toml"


def test_a_run_whose_every_routed_request_failed_on_configuration_exits_2(
    tmp_path: Path,
) -> None:
    pytest.importorskip("hybrid_core_review")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def f():\n    return 1\n")
    text = REVIEW.read_text().replace("retries = 1", 'retries = 1\nstrategy = "performance_basd"')
    (tmp_path / "hybrid.toml").write_text(text)
    ran = run_hybrid("run", "review", "-i", "path=src", "-i", f"out={tmp_path / 'out'}",
                     cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: configuration: every routed request (4) failed: no routing strategy is named "
        "'performance_basd' (did you mean 'performance_based'?); fix the configuration "
        "('hybrid validate' checks it)"
    ]


# -- which file is used, and where the search stops ---------------------------------------

FLOW = (
    "import hybrid_core\nwf = hybrid_core.Workflow('flow', ['x'])\n"
    "wf.step('double', lambda x: x * 2, x=hybrid_core.input('x'))\nwf.returns('double')\n"
)


def test_run_says_which_configuration_it_used(tmp_path: Path) -> None:
    (tmp_path / "flow_mod.py").write_text(FLOW)
    env = {**NO_PLUGINS, "PYTHONPATH": str(tmp_path)}
    none = run_hybrid("run", "flow_mod:wf", "-i", "x:=2", cwd=tmp_path, env=env)
    assert none.returncode == 0, none.stderr
    assert none.stderr.splitlines()[0] == "no configuration file; using the defaults"
    (tmp_path / "hybrid.toml").write_text("[routing]\nretries = 0\n")
    used = run_hybrid("run", "flow_mod:wf", "-i", "x:=2", "--json", cwd=tmp_path, env=env)
    assert used.stderr.splitlines()[0] == f"using configuration {tmp_path / 'hybrid.toml'}"
    assert json.loads(used.stdout)["config"] == str(tmp_path / "hybrid.toml")


def test_a_configuration_above_the_repository_root_is_not_obeyed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / ".git").mkdir()
    (tmp_path / "hybrid.toml").write_text("[routing]\nretries = 'not checked: never read'\n")
    result = run_hybrid("validate", "--json", cwd=repo / "pkg", env=NO_PLUGINS)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"] is None
    (repo / "hybrid.toml").write_text("[routing]\nretries = 1\n")
    result = run_hybrid("validate", "--json", cwd=repo / "pkg", env=NO_PLUGINS)
    assert json.loads(result.stdout)["config"] == str(repo / "hybrid.toml")
