"""Configuration composition: extends, profiles, ${VAR} interpolation, and value origins."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid_core import ConfigError
from hybrid_core._config.compose import Composed, Origin, compose_file, compose_mapping, join_key
from hybrid_core._config.load import config_from_mapping
from hybrid_core.exceptions import ConfigProblem


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative file names keep the expected messages short and exact.
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: str | Path, **options: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        compose_file(path, **options)  # type: ignore[arg-type]
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems)
    return lines


# -- extends and merging ---------------------------------------------------------------


def test_the_extending_file_wins_and_tables_merge_deeply() -> None:
    write("base.toml", "[routing]\nretries = 1\nbackoff = 0.5\n[plugins]\nstrict = true\n")
    write("hybrid.toml", 'extends = "base.toml"\n[routing]\nretries = 4\n')
    composed = compose_file("hybrid.toml")
    assert composed.data == {
        "routing": {"retries": 4, "backoff": 0.5},
        "plugins": {"strict": True},
    }
    assert composed.files == ("hybrid.toml", "base.toml")
    assert composed.source == "hybrid.toml"


def test_among_extended_files_later_ones_win() -> None:
    write("a.toml", "[routing]\nretries = 1\nbackoff = 1.0\n")
    write("b.toml", "[routing]\nretries = 2\n")
    write("hybrid.toml", 'extends = ["a.toml", "b.toml"]\n')
    assert compose_file("hybrid.toml").data == {"routing": {"retries": 2, "backoff": 1.0}}


def test_lists_are_replaced_not_concatenated() -> None:
    write("base.toml", '[plugins]\ndisable = ["a", "b"]\n')
    write("hybrid.toml", 'extends = ["base.toml"]\n[plugins]\ndisable = ["c"]\n')
    assert compose_file("hybrid.toml").data == {"plugins": {"disable": ["c"]}}


def test_a_value_may_replace_a_table_and_a_table_a_value() -> None:
    write("base.toml", "[routing]\nretries = 1\n[resources]\ngpu = 1\n")
    write("hybrid.toml", 'extends = "base.toml"\nrouting = "fast"\n[resources.gpu]\nsize = 2\n')
    composed = compose_file("hybrid.toml")
    assert composed.data == {"routing": "fast", "resources": {"gpu": {"size": 2}}}
    assert "routing.retries" not in composed.origins
    assert composed.origins["resources.gpu.size"] == Origin("hybrid.toml", "resources.gpu.size")


def test_extends_nest_and_resolve_relative_to_the_file_that_names_them() -> None:
    write("shared/common.toml", "[executor]\nname = 'common'\nmax_threads = 2\n")
    write("shared/team.toml", "extends = 'common.toml'\n[executor]\nname = 'team'\n")
    write("app/hybrid.toml", "extends = ['../shared/team.toml']\n[executor]\nmax_threads = 8\n")
    composed = compose_file("app/hybrid.toml")
    assert composed.data == {"executor": {"name": "team", "max_threads": 8}}
    assert composed.files == (
        "app/hybrid.toml",
        "app/../shared/team.toml",
        "app/../shared/common.toml",
    )
    assert composed.origin("executor.name") == Origin("app/../shared/team.toml", "executor.name")


def test_a_file_extended_twice_is_applied_once_before_its_first_extender() -> None:
    # A diamond: the shared base must not undo what "left" set when "right" extends it too.
    write("base.toml", "[routing]\nretries = 0\nbackoff = 0.1\n")
    write("left.toml", "extends = 'base.toml'\n[routing]\nretries = 5\n")
    write("right.toml", "extends = 'base.toml'\n[routing]\nbackoff = 0.2\n")
    write("hybrid.toml", "extends = ['left.toml', 'right.toml']\n")
    composed = compose_file("hybrid.toml")
    assert composed.data == {"routing": {"retries": 5, "backoff": 0.2}}
    assert composed.files == ("hybrid.toml", "left.toml", "base.toml", "right.toml")


def test_an_extends_entry_that_interpolates_to_nothing_is_skipped() -> None:
    write("ci.toml", "[plugins]\nstrict = true\n")
    write("hybrid.toml", "extends = ['${EXTRA:-}']\n")
    assert compose_file("hybrid.toml", env={}).data == {}
    assert compose_file("hybrid.toml", env={"EXTRA": "ci.toml"}).data == {
        "plugins": {"strict": True}
    }


# -- problems with files and extends -----------------------------------------------------


def test_an_extends_loop_shows_the_chain() -> None:
    write("a.toml", "extends = 'b.toml'\n")
    write("b.toml", "extends = ['a.toml']\n")
    assert problems("a.toml") == [
        "b.toml: extends[0]: extends loop: a.toml -> b.toml -> a.toml; remove one of these extends"
    ]


def test_a_file_extending_itself_is_a_loop() -> None:
    write("a.toml", "extends = 'a.toml'\n")
    assert problems("a.toml") == [
        "a.toml: extends: extends loop: a.toml -> a.toml; remove one of these extends"
    ]


def test_a_loop_through_another_path_to_the_same_file_is_found() -> None:
    write("sub/b.toml", "extends = '../a.toml'\n")
    write("a.toml", "extends = 'sub/b.toml'\n")
    (line,) = problems("a.toml")
    assert line.endswith(
        "extends loop: a.toml -> sub/b.toml -> sub/../a.toml; remove one of these extends"
    )


def test_a_missing_extended_file_is_reported_in_the_file_that_extends_it() -> None:
    write("hybrid.toml", "extends = ['base.toml', 'nope/other.toml']\n")
    write("base.toml", "extends = 'gone.toml'\n")
    relative = "(paths are relative to the file that names them)"
    assert problems("hybrid.toml") == [
        f"base.toml: extends: extended file 'gone.toml' is not found {relative}",
        f"hybrid.toml: extends[1]: extended file 'nope/other.toml' is not found {relative}",
    ]


def test_the_main_file_missing_or_a_directory() -> None:
    assert problems("nope.toml") == ["nope.toml: file not found; check the path given to --config"]
    Path("folder").mkdir()
    assert problems("folder") == ["folder: is a directory; give the path of a TOML file"]
    write("hybrid.toml", "extends = 'folder'\n")
    (line,) = problems("hybrid.toml")
    assert line.startswith("hybrid.toml: extends: extended file 'folder' is a directory")


def test_invalid_toml_names_the_line_and_column() -> None:
    write("base.toml", "[routing]\nretries = = 3\n")
    write("hybrid.toml", "extends = 'base.toml'\n")
    (line,) = problems("hybrid.toml")
    assert line.startswith("base.toml: is not valid TOML: ")
    assert "line 2, column 11" in line and line.endswith("; fix the syntax there")


def test_a_file_that_is_not_utf8_names_the_byte_and_where_it_is() -> None:
    Path("hybrid.toml").write_bytes(b"[routing]\nstrategy = 'caf\xe9'\n")
    assert problems("hybrid.toml") == [
        "hybrid.toml: is not UTF-8 text (byte 0xe9 at line 2, column 16); save the file as UTF-8"
    ]


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    Path("hybrid.toml").write_bytes("\ufeff[plugins]\nstrict = true\n".encode())
    assert compose_file("hybrid.toml").data == {"plugins": {"strict": True}}


def test_too_large_an_integer_or_too_deep_a_document_is_a_problem() -> None:
    write("big.toml", "x = " + "9" * 5000 + "\n")
    (line,) = problems("big.toml")
    assert line.startswith("big.toml: is not usable TOML: Exceeds the limit")
    write("deep.toml", "x = " + "[" * 2000 + "]" * 2000 + "\n")
    assert problems("deep.toml") == ["deep.toml: is not usable TOML: it is nested too deeply"]
    write("dotted.toml", "a" + ".a" * 60 + " = 1\n")
    assert problems("dotted.toml") == ["dotted.toml: a: is nested more than 50 levels deep"]


def test_extends_of_the_wrong_type() -> None:
    write("hybrid.toml", "extends = 3\n")
    assert problems("hybrid.toml") == [
        'hybrid.toml: extends: must be a file path or a list of them, e.g. extends = ["base.toml"],'
        " not an integer (3)"
    ]
    write("hybrid.toml", "extends = ['', {a = 1}]\n")
    assert problems("hybrid.toml") == [
        "hybrid.toml: extends[0]: must be the path of a TOML file, not a string ('')",
        "hybrid.toml: extends[1]: must be the path of a TOML file, not a table",
    ]


# -- profiles ------------------------------------------------------------------------------


def test_a_profile_overlays_everything_from_every_file() -> None:
    write(
        "base.toml",
        "[routing]\nretries = 1\n[profile.ci.routing]\nretries = 9\n"
        "[profile.ci.plugins]\nstrict = true\n",
    )
    write(
        "hybrid.toml",
        "extends = 'base.toml'\n[routing]\nretries = 2\nbackoff = 0.5\n"
        "[profile.ci.plugins]\nstrict = false\n",
    )
    composed = compose_file("hybrid.toml", profile="ci")
    # The base's profile wins over the main file's plain value, the main file's profile
    # over the base's profile.
    assert composed.data == {
        "routing": {"retries": 9, "backoff": 0.5},
        "plugins": {"strict": False},
    }
    assert composed.profile == "ci"
    assert composed.profiles == ("ci",)
    assert composed.origin("routing.retries") == Origin("base.toml", "profile.ci.routing.retries")
    assert composed.origin("plugins.strict") == Origin("hybrid.toml", "profile.ci.plugins.strict")


def test_without_a_profile_the_profiles_are_left_out() -> None:
    write("hybrid.toml", "[routing]\nretries = 2\n[profile.ci.routing]\nretries = 9\n")
    composed = compose_file("hybrid.toml")
    assert composed.data == {"routing": {"retries": 2}}
    assert composed.profiles == ("ci",)
    assert composed.profile is None


def test_an_unknown_profile_suggests_the_closest_and_lists_them() -> None:
    write("base.toml", "[profile.prod]\n[profile.ci]\n")
    write("hybrid.toml", "extends = 'base.toml'\n[profile.dev]\n")
    assert problems("hybrid.toml", profile="cj") == [
        "hybrid.toml: profile: no profile is named 'cj' (did you mean 'ci'? defined: ci, dev, prod)"
    ]
    assert problems("hybrid.toml", profile="staging") == [
        "hybrid.toml: profile: no profile is named 'staging' (defined: ci, dev, prod)"
    ]
    write("plain.toml", "")
    assert problems("plain.toml", profile="ci") == [
        "plain.toml: profile: no profile is named 'ci'"
        " (none is defined; add a [profile.NAME] table)"
    ]


def test_profile_tables_of_the_wrong_shape() -> None:
    write("hybrid.toml", "profile = 3\n")
    assert problems("hybrid.toml") == [
        "hybrid.toml: profile: must be a table of profiles such as [profile.ci], not an integer (3)"
    ]
    write("hybrid.toml", "[profile]\nci = 'fast'\n[profile.dev]\nextends = 'x.toml'\n")
    assert problems("hybrid.toml", profile="ci") == [
        "hybrid.toml: profile.ci: must be a table (a profile overlays the rest of the"
        " configuration), not a string ('fast')",
        "hybrid.toml: profile.dev.extends: is not allowed in a profile; put it at the top level",
    ]


def test_an_unreadable_file_keeps_a_profile_from_being_called_unknown() -> None:
    # The broken file may well define the profile; its own problem is the one to fix.
    write("base.toml", "[profile.ci\n")
    write("hybrid.toml", "extends = 'base.toml'\n")
    (line,) = problems("hybrid.toml", profile="ci")
    assert line.startswith("base.toml: is not valid TOML")


# -- interpolation ---------------------------------------------------------------------------


def test_variables_defaults_and_escapes_are_interpolated_in_string_values() -> None:
    write(
        "hybrid.toml",
        "[telemetry.jsonl]\n"
        'path = "${LOGS}/run-${RUN:-local}.jsonl"\n'
        'note = "$${LOGS} stays, and so does $HOME and $$"\n'
        'empty = "${EMPTY:-fallback}|${EMPTY}"\n'
        '[telemetry."${KEY}"]\n'
        'items = ["${LOGS}", 3, {deep = "${RUN:-x}"}]\n',
    )
    env = {"LOGS": "/var/log", "EMPTY": "", "KEY": "no"}
    assert compose_file("hybrid.toml", env=env).data == {
        "telemetry": {
            "jsonl": {
                "path": "/var/log/run-local.jsonl",
                "note": "${LOGS} stays, and so does $HOME and $$",
                "empty": "fallback|",
            },
            "${KEY}": {"items": ["/var/log", 3, {"deep": "x"}]},
        }
    }


def test_a_value_from_the_environment_is_not_interpolated_again() -> None:
    write("hybrid.toml", "[executor]\nname = '${A}'\n")
    assert compose_file("hybrid.toml", env={"A": "${B}"}).data == {"executor": {"name": "${B}"}}


def test_the_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_TEST_EXECUTOR", "pool")
    write("hybrid.toml", "[executor]\nname = '${HYBRID_TEST_EXECUTOR}'\n")
    assert compose_file("hybrid.toml").data == {"executor": {"name": "pool"}}


def test_an_unset_variable_names_the_key_path_and_the_variable() -> None:
    write("base.toml", "[profile.ci.telemetry.jsonl]\npath = '${CI_LOGS}/x'\n")
    write("hybrid.toml", "extends = 'base.toml'\n[plugins]\nonly = ['a', '${PLUGIN}']\n")
    assert problems("hybrid.toml", profile="ci", env={}) == [
        "hybrid.toml: plugins.only[1]: variable 'PLUGIN' is not set; set it or give a default:"
        " ${PLUGIN:-value}",
        "base.toml: profile.ci.telemetry.jsonl.path: variable 'CI_LOGS' is not set; set it or"
        " give a default: ${CI_LOGS:-value}",
    ]


def test_only_values_that_survive_merging_are_interpolated() -> None:
    write("base.toml", "[executor]\nname = '${UNSET}'\n[profile.prod.executor]\nname = '${PROD}'\n")
    write("hybrid.toml", "extends = 'base.toml'\n[executor]\nname = 'local'\n")
    assert compose_file("hybrid.toml", env={}).data == {"executor": {"name": "local"}}


def test_malformed_references_are_problems() -> None:
    write(
        "hybrid.toml",
        "[executor]\nname = 'a ${ b'\n[routing]\nstrategy = '${1X} ${A:-${B}}'\n",
    )
    assert problems("hybrid.toml", env={"A": "1"}) == [
        "hybrid.toml: executor.name: has a '${' without its closing '}'; write '$${' for a"
        " literal '${'",
        "hybrid.toml: routing.strategy: ${1X} is not a variable reference; write ${NAME} or"
        " ${NAME:-default} (no nesting), or '$${' for a literal '${'",
        "hybrid.toml: routing.strategy: ${A:-${B} is not a variable reference; write ${NAME} or"
        " ${NAME:-default} (no nesting), or '$${' for a literal '${'",
    ]


# -- pyproject.toml --------------------------------------------------------------------------


def test_in_a_pyproject_only_tool_hybrid_is_the_document() -> None:
    write("base.toml", "[routing]\nretries = 1\nbackoff = 0.2\n")
    write(
        "pyproject.toml",
        "[project]\nname = 'x'\n[tool.hybrid]\nextends = 'base.toml'\n"
        "[tool.hybrid.routing]\nretries = 3\n[tool.hybrid.profile.ci.routing]\nbackoff = 0.0\n",
    )
    composed = compose_file("pyproject.toml", profile="ci")
    assert composed.data == {"routing": {"retries": 3, "backoff": 0.0}}
    assert composed.origin("routing.retries") == Origin(
        "pyproject.toml", "tool.hybrid.routing.retries"
    )
    assert composed.origin("routing.backoff") == Origin(
        "pyproject.toml", "tool.hybrid.profile.ci.routing.backoff"
    )
    assert problems("pyproject.toml", profile="cd") == [
        "pyproject.toml: tool.hybrid.profile: no profile is named 'cd'"
        " (did you mean 'ci'? defined: ci)"
    ]


def test_a_pyproject_without_tool_hybrid_is_empty_and_a_wrong_one_a_problem() -> None:
    write("pyproject.toml", "[project]\nname = 'x'\nextends = 'nope.toml'\n")
    assert compose_file("pyproject.toml").data == {}
    write("pyproject.toml", "[tool]\nhybrid = 3\n")
    assert problems("pyproject.toml") == [
        "pyproject.toml: tool.hybrid: must be a table, not an integer (3)"
    ]
    write("pyproject.toml", "[tool.hybrid]\nextends = 3\n")
    (line,) = problems("pyproject.toml")
    assert line.startswith("pyproject.toml: tool.hybrid.extends: must be a file path")


# -- origins -----------------------------------------------------------------------------------


def test_every_table_and_leaf_has_an_origin() -> None:
    write("base.toml", '[routing.capabilities]\n"python.complexity" = "fastest"\n')
    write("hybrid.toml", "extends = 'base.toml'\n[routing]\nretries = 2\n")
    composed = compose_file("hybrid.toml")
    assert dict(composed.origins) == {
        "routing": Origin("hybrid.toml", "routing"),
        "routing.capabilities": Origin("base.toml", "routing.capabilities"),
        'routing.capabilities."python.complexity"': Origin(
            "base.toml", 'routing.capabilities."python.complexity"'
        ),
        "routing.retries": Origin("hybrid.toml", "routing.retries"),
    }
    assert list(composed.items()) == [
        (
            'routing.capabilities."python.complexity"',
            "fastest",
            Origin("base.toml", 'routing.capabilities."python.complexity"'),
        ),
        ("routing.retries", 2, Origin("hybrid.toml", "routing.retries")),
    ]
    assert str(composed.origin("routing.retries")) == "hybrid.toml:routing.retries"


def test_origin_falls_back_to_the_nearest_ancestor() -> None:
    write("hybrid.toml", "[plugins]\nonly = ['a']\n[telemetry.jsonl]\npath = 'x'\n")
    composed = compose_file("hybrid.toml")
    assert composed.origin("plugins.only[0]") == Origin("hybrid.toml", "plugins.only")
    assert composed.origin("telemetry.jsonl.max_bytes") == Origin("hybrid.toml", "telemetry.jsonl")
    assert composed.origin("executor.name") is None
    assert composed.origin("") is None


def test_join_key_quotes_keys_as_toml_would() -> None:
    assert join_key(["routing", "capabilities", "python.complexity"]) == (
        'routing.capabilities."python.complexity"'
    )
    assert join_key(["a-b_1", "", 'say "hi"\n']) == 'a-b_1.""."say \\"hi\\"\\n"'


def test_relocate_points_a_schema_problem_at_the_file_and_key_that_set_it() -> None:
    write("base.toml", "[profile.ci.routing]\nretries = -1\n")
    write("hybrid.toml", "extends = 'base.toml'\n[plugins]\nstrictt = true\n")
    composed = compose_file("hybrid.toml", profile="ci")
    with pytest.raises(ConfigError) as info:
        config_from_mapping(composed.data, source=composed.source)
    relocated = [str(p) for p in composed.relocate(info.value.problems)]
    assert relocated == [
        "hybrid.toml: plugins.strictt: unknown key (did you mean 'strict'?)",
        "base.toml: profile.ci.routing.retries: must be a whole number >= 0, not an integer (-1)",
    ]
    elsewhere = ConfigProblem("other.toml", "routing.retries", "x")
    assert composed.relocate([elsewhere]) == (elsewhere,)


# -- mappings ----------------------------------------------------------------------------------


def test_a_mapping_composes_like_a_file_named_by_its_source() -> None:
    write("conf/base.toml", "[routing]\nretries = 1\nbackoff = 0.5\n")
    data = {
        "extends": ["base.toml"],
        "routing": {"retries": 3, "strategy": "${S:-priority}"},
        "profile": {"ci": {"routing": {"backoff": 0.0}}},
    }
    composed = compose_mapping(data, source="host", profile="ci", env={}, base_dir=Path("conf"))
    assert composed.data == {"routing": {"retries": 3, "backoff": 0.0, "strategy": "priority"}}
    assert composed.origin("routing.retries") == Origin("host", "routing.retries")
    assert composed.origin("routing.backoff") == Origin("host", "profile.ci.routing.backoff")
    assert composed.files == ("conf/base.toml",)
    assert data["routing"] == {"retries": 3, "strategy": "${S:-priority}"}


def test_a_mapping_extends_relative_to_the_working_directory_by_default() -> None:
    write("base.toml", "[plugins]\nstrict = true\n")
    assert compose_mapping({"extends": "base.toml"}).data == {"plugins": {"strict": True}}
    with pytest.raises(ConfigError, match=r"^<mapping>: extends: extended file 'nope.toml' is not"):
        compose_mapping({"extends": "nope.toml"})


def test_a_mapping_that_is_not_a_table_or_loops_into_itself() -> None:
    with pytest.raises(ConfigError, match=r"^host: a configuration must be a table, not a list$"):
        compose_mapping([], source="host")  # type: ignore[arg-type]
    loop: dict[str, object] = {}
    loop["routing"] = loop
    with pytest.raises(ConfigError, match=r"^<mapping>: routing: is nested more than 50 levels"):
        compose_mapping(loop)


def test_the_result_is_a_fresh_copy() -> None:
    shared = ["a"]
    composed = compose_mapping({"plugins": {"only": shared}})
    assert composed.data == {"plugins": {"only": ["a"]}}
    assert composed.data["plugins"]["only"] is not shared
    assert isinstance(composed, Composed)


# -- all at once -------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    write("loop.toml", "extends = 'hybrid.toml'\n")
    write("broken.toml", "x = \n")
    Path("latin1.toml").write_bytes(b"x = '\xff'\n")
    write(
        "hybrid.toml",
        "extends = ['missing.toml', 7, 'loop.toml', 'broken.toml', 'latin1.toml']\n"
        "profile = 'ci'\n[executor]\nname = '${NOPE}'\n",
    )
    lines = problems("hybrid.toml", profile="ci", env={})
    assert [line.split(": ")[0:2] for line in lines] == [
        ["hybrid.toml", "extends[0]"],
        ["hybrid.toml", "extends[1]"],
        ["loop.toml", "extends"],
        ["broken.toml", "is not valid TOML"],
        [
            "latin1.toml",
            "is not UTF-8 text (byte 0xff at line 1, column 6); save the file as UTF-8",
        ],
        ["hybrid.toml", "profile"],
        ["hybrid.toml", "executor.name"],
    ]
    assert "extends loop: hybrid.toml -> loop.toml -> hybrid.toml" in lines[2]
