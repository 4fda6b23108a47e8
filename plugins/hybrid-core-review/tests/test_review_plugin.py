"""The distribution is a plugin that ships the review workflow as package data."""

from __future__ import annotations

import importlib.metadata

import hybrid_core_review
import pytest
from hybrid_core_review import plugin

from hybrid_core import Hybrid


def test_the_distribution_declares_the_review_entry_point_and_ships_the_file() -> None:
    dist = importlib.metadata.distribution("hybrid-core-review")
    (entry,) = [e for e in dist.entry_points if e.group == "hybrid_core"]
    assert (entry.name, entry.value) == ("review", "hybrid_core_review.plugin")
    assert dist.version == hybrid_core_review.__version__
    assert plugin.WORKFLOWS.is_file()
    assert "[workflows.review]" in plugin.WORKFLOWS.read_text(encoding="utf-8")


def test_the_workflows_build_with_the_stdlib_engines() -> None:
    pyast = pytest.importorskip("hybrid_core_pyast")
    with Hybrid(plugins=[pyast, plugin], entry_points=False) as system:
        assert system.failures == []
        listed = {w["name"]: w for w in system.declared_workflows()}
    assert set(listed) == {"review", "review_file"}
    inputs = {i["name"]: i for i in listed["review"]["inputs"]}
    assert inputs["path"]["default"] == "." and inputs["out"]["default"] == "review-report"
    assert listed["review_file"]["inputs"][0]["required"] is True


def test_without_engines_the_plugin_fails_naming_the_capability() -> None:
    with Hybrid(plugins=[plugin], entry_points=False) as system:
        (failed,) = system.failures
    assert failed.name == "hybrid_core_review.plugin"
    assert "hybrid_core_review/workflows.toml: workflows.review_file.steps.complexity" in str(
        failed.error
    )
    assert "no provider serves capability 'python.complexity'" in str(failed.error)
