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


def test_validate_checks_the_shipped_review_workflow() -> None:
    config = Path(__file__).resolve().parent.parent / "examples" / "review" / "hybrid.toml"
    result = run_hybrid("validate", "--config", str(config), "--json")
    if result.returncode == 2:
        pytest.skip(f"the review's plugins are not installed here: {result.stderr.strip()}")
    data = json.loads(result.stdout)
    assert set(data["workflows"]) == {"review", "review_file"}
    if result.returncode == 0:
        assert data["valid"] is True
