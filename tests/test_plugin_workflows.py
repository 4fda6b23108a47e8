"""Workflows a plugin ships as TOML files: built after every plugin, checked like config."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import hybrid_core as hc
from hybrid_core import Hybrid

FLOWS = """
[workflows.tidy]
description = "Tidy a text"
returns = "strip"

[workflows.tidy.inputs]
text = { description = "the text" }
suffix = { default = "!", description = "added at the end" }

[workflows.tidy.steps.strip]
call = "acme_flows:strip"
args = { text = { input = "text" }, suffix = { input = "suffix" } }
"""

MODULE = """
def strip(text, suffix):
    return text.strip() + suffix
"""


def _package(root: Path, flows: str = FLOWS) -> Path:
    package = root / "acme_flows"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(MODULE))
    (package / "workflows.toml").write_text(textwrap.dedent(flows))
    return package / "workflows.toml"


class FilePlugin:
    """A plugin whose hybrid_workflows() returns one TOML file."""

    def __init__(self, name: str, file: object) -> None:
        self.name = name
        self._file = file

    @hc.hookimpl
    def hybrid_workflows(self) -> list[object]:
        return [self._file]


@pytest.fixture
def flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return _package(tmp_path)


def test_a_shipped_file_registers_its_workflows_with_their_defaults(flows: Path) -> None:
    with Hybrid(plugins=[FilePlugin("acme", flows)], entry_points=False) as system:
        assert system.registry.get("tidy").origin == "acme"  # type: ignore[union-attr]
        result = system.run("tidy", text="  hi ")
        (listed,) = system.declared_workflows()
    assert result.ok and result.value == "hi!"
    assert listed["origin"] == "acme" and listed["file"] == "acme_flows/workflows.toml"
    assert listed["description"] == "Tidy a text"
    assert listed["inputs"] == [
        {"name": "text", "required": True, "default": None, "description": "the text"},
        {"name": "suffix", "required": False, "default": "!", "description": "added at the end"},
    ]


def test_a_package_resource_is_accepted_like_a_path(flows: Path) -> None:
    from importlib.resources import files

    resource = files("acme_flows") / "workflows.toml"
    with Hybrid(plugins=[FilePlugin("acme", resource)], entry_points=False) as system:
        assert system.run("tidy", text="a").value == "a!"


def test_a_broken_file_fails_its_plugin_with_the_configs_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = FLOWS.replace("acme_flows:strip", "acme_flows:strp").replace(
        "returns =", "retruns ="
    )
    file = _package(tmp_path, broken)
    good = hc.Workflow("other", ["x"])
    good.step("s", lambda x: x, x=hc.input("x"))

    class Other:
        @hc.hookimpl
        def hybrid_workflows(self) -> list[hc.Workflow]:
            return [good]

    with Hybrid(plugins=[FilePlugin("acme", file), Other()], entry_points=False) as system:
        (failed,) = system.failures
        assert "tidy" not in system.registry and "other" in system.registry
    error = str(failed.error)
    assert failed.name == "acme" and error.startswith("plugin 'acme': its workflow file")
    assert (
        "acme_flows/workflows.toml: workflows.tidy.steps.strip.call: 'acme_flows' has no "
        "'strp' (did you mean 'strip'?)" in error
    )
    assert (
        "acme_flows/workflows.toml: workflows.tidy.retruns: unknown key (did you mean "
        "'returns'?)" in error
    )


def test_a_file_may_not_carry_settings_nor_bad_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    file = _package(tmp_path, '[executor]\nname = "dask"\n' + FLOWS)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[workflows.x\n")
    plugins = [FilePlugin("acme", file), FilePlugin("bad", bad_toml)]
    with Hybrid(plugins=plugins, entry_points=False) as system:
        errors = {r.name: str(r.error) for r in system.failures}
    assert "acme_flows/workflows.toml: executor: a plugin's workflow file holds" in errors["acme"]
    assert "is not valid TOML" in errors["bad"] and str(bad_toml) in errors["bad"]


def test_something_else_is_refused_naming_what_is_accepted() -> None:
    with Hybrid(plugins=[FilePlugin("acme", "workflows.toml")], entry_points=False) as system:
        (failed,) = system.failures
    assert "nor a .toml file" in str(failed.error)


def test_a_configured_workflow_can_compose_a_shipped_one(flows: Path) -> None:
    config = {
        "workflows": {
            "loud": {
                "inputs": ["text"],
                "returns": "inner",
                "steps": {"inner": {"workflow": "tidy", "args": {"text": {"input": "text"},
                                                                  "suffix": "?"}}},
            }
        }
    }  # fmt: skip
    with Hybrid(config, plugins=[FilePlugin("acme", flows)], entry_points=False) as system:
        assert system.run("loud", text=" a ").value == "a?"
        origins = {w["name"]: w["origin"] for w in system.declared_workflows()}
    assert origins == {"loud": "config", "tidy": "acme"}


def test_a_name_taken_by_another_plugin_fails_the_later_one(flows: Path) -> None:
    taken = hc.Workflow("tidy", ["x"])
    taken.step("s", lambda x: x, x=hc.input("x"))

    class First:
        @hc.hookimpl
        def hybrid_workflows(self) -> list[hc.Workflow]:
            return [taken]

    with Hybrid(plugins=[First(), FilePlugin("acme", flows)], entry_points=False) as system:
        (failed,) = system.failures
        assert system.registry.get("tidy").target is taken  # type: ignore[union-attr]
    assert failed.name == "acme" and "tidy" in str(failed.error)
