"""[telemetry] settings: the built-in sinks' tables are checked, each problem names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybrid_core import ConfigError, Hybrid, InMemorySink, LoguruSink, load_config
from hybrid_core._config.load import config_from_mapping
from hybrid_core._telemetry.builtin import build_sinks
from hybrid_core._telemetry.jsonl import JsonlSink


def problems(telemetry: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"telemetry": telemetry}, source="hybrid.toml")
    return [str(p) for p in caught.value.problems]


def test_bad_jsonl_settings_name_the_key() -> None:
    found = problems({"sinks": ["jsonl"], "jsonl": {"path": "t.jsonl", "max_bytes": "10MB"}})
    assert found == [
        "hybrid.toml: telemetry.jsonl.max_bytes: must be a whole number >= 0 (bytes per file; "
        "0 never rotates), not str '10MB'"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "sinks": ["jsonl", "loguru"],
            "jsonl": {"max_byte": 10, "backups": -1},
            "loguru": {"level": "LOUD"},
            "memory": {"size": 3},
        }
    )
    keys = [p.split(": ")[1] for p in found]
    assert sorted(keys) == [
        "telemetry.jsonl.backups",
        "telemetry.jsonl.max_byte",
        "telemetry.jsonl.path",
        "telemetry.loguru.level",
        "telemetry.memory.size",
    ]
    assert any("did you mean 'max_bytes'?" in p for p in found)
    assert any("this sink takes no settings" in p for p in found)


def test_jsonl_needs_a_path_when_it_is_asked_for() -> None:
    (found,) = problems({"sinks": ["jsonl"]})
    assert (
        found == "hybrid.toml: telemetry.jsonl.path: is required when 'jsonl' is in telemetry.sinks"
    )


def test_a_scalar_beside_sinks_is_an_unknown_key_with_a_hint() -> None:
    (found,) = problems({"sink": ["memory"]})
    assert "telemetry.sink: unknown key (did you mean 'sinks'?)" in found


def test_tables_of_other_sinks_belong_to_their_plugins() -> None:
    config = config_from_mapping({"telemetry": {"sinks": ["otel"], "otel": {"anything": 1}}})
    assert config.telemetry["otel"] == {"anything": 1}


def test_a_config_file_with_bad_sink_settings_fails_to_load(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.toml"
    path.write_text('[telemetry]\nsinks = ["loguru"]\n\n[telemetry.loguru]\nlevel = true\n')
    with pytest.raises(ConfigError, match=r"hybrid.toml: telemetry.loguru.level: must be a level"):
        load_config(path)


def test_built_in_sinks_are_built_from_their_settings_in_the_order_asked(tmp_path: Path) -> None:
    settings = {
        "sinks": ["memory", "loguru", "jsonl", "otel"],
        "loguru": {"level": "debug"},
        "jsonl": {"path": str(tmp_path / "t.jsonl"), "max_bytes": 4096, "backups": 1},
    }
    memory, loguru, jsonl = build_sinks(settings)
    assert isinstance(memory, InMemorySink) and memory.inline
    assert isinstance(loguru, LoguruSink) and loguru.level == "DEBUG"
    assert isinstance(jsonl, JsonlSink) and (jsonl.max_bytes, jsonl.backups) == (4096, 1)


def test_a_hand_built_bad_setting_leaves_that_sink_out_and_the_rest_working() -> None:
    sinks = build_sinks({"sinks": ["jsonl", "memory"], "jsonl": {"max_bytes": 1}})
    assert [s.name for s in sinks] == ["memory"]


def test_an_unknown_sink_name_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"telemetry\.sinks\[0\]: no plugin provides"):
        Hybrid({"telemetry": {"sinks": ["nosuch"]}}, entry_points=False).start()
