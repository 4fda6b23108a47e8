"""Configuration files: discovery, parsing errors, and checks that list every problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clitools import run_hybrid

from hybrid_core import ConfigError, find_config, load_config
from hybrid_core._config.compose import MAX_CONFIG_BYTES
from hybrid_core._config.load import config_from_mapping


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.toml"
    path.write_text("[plugins\nonly = [\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert "is not valid TOML" in problem.message and "line 1" in problem.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_every_problem_is_reported_at_once_with_key_paths() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(
            {
                "plugin": {},
                "plugins": {"only": "pyast", "strict": "yes", "disabel": []},
                "executor": {"max_threads": 0},
            },
            source="hybrid.toml",
        )
    lines = str(info.value).splitlines()
    assert "hybrid.toml: plugin: unknown key (did you mean 'plugins'?)" in lines
    assert any(
        line.startswith("hybrid.toml: plugins.only: must be a list of names") for line in lines
    )
    assert any(
        line.startswith("hybrid.toml: plugins.strict: must be true or false") for line in lines
    )
    assert "hybrid.toml: plugins.disabel: unknown key (did you mean 'disable'?)" in lines
    assert any(
        line.startswith("hybrid.toml: executor.max_threads: must be a whole number")
        for line in lines
    )
    assert len(lines) == 5


def test_sections_must_be_tables() -> None:
    with pytest.raises(ConfigError, match="plugins: must be a table, not a list"):
        config_from_mapping({"plugins": []})


def test_find_config_searches_upward(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / ".git").mkdir()  # the repository root: the search goes up to here
    assert find_config(deep) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config(deep) is None
    (tmp_path / "pyproject.toml").write_text("[tool.hybrid.plugins]\nstrict = true\n")
    assert find_config(deep) == tmp_path / "pyproject.toml"
    assert load_config(tmp_path / "pyproject.toml").plugins.strict is True
    (tmp_path / "a" / "hybrid.toml").write_text("")
    assert find_config(deep) == tmp_path / "a" / "hybrid.toml"


def test_executor_close_grace() -> None:
    assert config_from_mapping({}).executor.close_grace == 10.0
    assert config_from_mapping({"executor": {"close_grace": 0.5}}).executor.close_grace == 0.5
    for bad, shown in ((-1, "-1"), ("5", "a string ('5')"), (float("nan"), "a number (nan)")):
        with pytest.raises(ConfigError) as info:
            config_from_mapping({"executor": {"close_grace": bad}}, source="hybrid.toml")
        assert str(info.value) == (
            f"hybrid.toml: executor.close_grace: must be a number of seconds >= 0, not {shown}"
        )


def test_a_fifo_device_or_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    with pytest.raises(ConfigError, match=r"fifo.toml: is not a regular file"):
        load_config(fifo)
    extends = tmp_path / "hybrid.toml"
    extends.write_text('extends = "/dev/zero"\n')  # reading it would never end
    with pytest.raises(ConfigError, match=r"/dev/zero: is not a regular file"):
        load_config(extends)
    big = tmp_path / "big.toml"
    with big.open("wb") as out:  # sparse: no disk is spent on it
        out.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ConfigError, match=f"is larger than {MAX_CONFIG_BYTES} bytes"):
        load_config(big)


def test_the_cli_refuses_a_fifo_as_config_with_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    result = run_hybrid("--config", str(fifo), "validate")
    assert result.returncode == 2
    assert "is not a regular file (a FIFO, device or socket)" in result.stderr


def test_find_config_stops_at_the_repository_root(tmp_path: Path) -> None:
    repo, deep = tmp_path / "repo", tmp_path / "repo" / "src" / "pkg"
    deep.mkdir(parents=True)
    (repo / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    (tmp_path / "hybrid.toml").write_text("")  # above the repository: never obeyed
    assert find_config(deep, home=tmp_path.parent) is None
    (repo / "hybrid.toml").write_text("")
    assert find_config(deep, home=tmp_path.parent) == repo / "hybrid.toml"


def test_find_config_stops_at_the_home_folder(tmp_path: Path) -> None:
    home, deep = tmp_path / "home", tmp_path / "home" / "work" / "x"
    deep.mkdir(parents=True)
    (tmp_path / "hybrid.toml").write_text("")  # above home: never obeyed
    assert find_config(deep, home=home) is None
    (home / "hybrid.toml").write_text("")
    assert find_config(deep, home=home) == home / "hybrid.toml"


def test_find_config_outside_home_and_repositories_reads_only_the_folder(tmp_path: Path) -> None:
    deep = tmp_path / "a"
    deep.mkdir()
    (tmp_path / "hybrid.toml").write_text("")
    assert find_config(deep, home=tmp_path / "elsewhere") is None
    assert find_config(tmp_path, home=tmp_path / "elsewhere") == tmp_path / "hybrid.toml"
