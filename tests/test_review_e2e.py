"""The main job end to end: ``hybrid run review`` on a fixture tree with known findings.

Runs the shipped configuration (examples/review/hybrid.toml) through the real CLI, with
the plugin distributions the test environment pip-installed.
"""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from clitools import run_hybrid

CONFIG = Path(__file__).resolve().parent.parent / "examples" / "review" / "hybrid.toml"

FILES = {
    "app/__init__.py": "",
    "app/core.py": """
        import os
        from . import util

        def branchy(x):
            if x > 1:
                return 1
            elif x < -1:
                return 2
            for i in range(x):
                if i and x:
                    return 3
            return 0
    """,
    "app/util.py": """
        from app import core

        def helper():
            return core.branchy(2)
    """,
    "app/broken.py": "def oops(:\n    pass\n",
    "app/latin.py": b"x = '\xe9'\n",
    "app/tests/test_skip.py": "def test(): pass\n",
}


def installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text))
    return root


@pytest.mark.skipif(not installed("hybrid-core-review"), reason="needs the review plugin (tox)")
def test_review_reports_known_findings(source_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_hybrid(
        "run", "review", "--config", str(CONFIG), "--json",
        "--input", f"path={source_tree}", "--input", f"out={out}",
        "--input", 'exclude:=["tests", "__pycache__"]',
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)["value"]
    assert value["json"] == str(out / "report.json")
    report = json.loads((out / "report.json").read_text())
    totals = report["totals"]
    assert totals["files"] == 5 and totals["unparsable"] == 2 and totals["parsed"] == 3
    assert report["import_cycles"] == [["app.core", "app.util"]]
    top = report["most_complex"][0]
    assert (top["qualname"], top["path"]) == ("branchy", "app/core.py")
    assert top["complexity"] >= 5
    kinds = {u["path"]: u["error"]["kind"] for u in report["unparsable"]}
    assert kinds == {"app/broken.py": "syntax", "app/latin.py": "encoding"}
    lint = {f["path"]: f["lint"] for f in report["files"]}
    assert any("os" in p["message"] for p in lint["app/core.py"])  # the unused import
    engines = report["engines"]["python.complexity"]
    assert sum(engines.values()) == 5
    markdown = (out / "report.md").read_text()
    assert "app.core -> app.util -> app.core" in markdown


@pytest.mark.skipif(not installed("hybrid-core-review"), reason="needs the review plugin (tox)")
def test_without_the_second_distribution_the_fallback_serves(
    source_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = run_hybrid(
        "run", "review", "--config", str(CONFIG), "--json",
        "--input", f"path={source_tree}", "--input", f"out={out}",
        env={"HYBRID_CORE_PLUGINS": "pyast"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["engines"]["python.complexity"]) == {"pyast.complexity"}
