"""The main job end to end: ``hybrid run review`` on a fixture tree with known findings.

Runs the shipped configuration (examples/review/hybrid.toml) through the real CLI, with
the plugin distributions the test environment pip-installed.
"""

from __future__ import annotations

import json
import signal
import textwrap
import time
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest
from clitools import run_hybrid, start_hybrid

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


needs_review = pytest.mark.skipif(
    not installed("hybrid-core-review"), reason="needs the review plugin (tox)"
)


def review(root: Path | str, out: Path, *extra: str) -> Any:
    return run_hybrid(
        "run", "review", "--config", str(CONFIG), "--json",
        "--input", f"path={root}", "--input", f"out={out}", *extra,
    )  # fmt: skip


@needs_review
def test_planted_symlinks_in_the_output_folder_are_not_followed(
    source_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for name in ("report.md", "report.json", ".files.jsonl"):
        (out / name).symlink_to(victim)
    result = review(source_tree, out)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]
    assert not (out / "report.md").is_symlink()


@needs_review
def test_an_interrupted_review_leaves_no_stale_report(tmp_path: Path) -> None:
    root = tmp_path / "src"
    for i in range(400):
        path = root / f"pkg{i % 20}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(FILES["app/core.py"]) * 20)
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("# Code review of an earlier run\n")
    (out / "report.json").write_text('{"schema": 1}\n')
    process = start_hybrid(
        "run", "review", "--config", str(CONFIG), "-q",
        "--input", f"path={root}", "--input", f"out={out}",
    )  # fmt: skip
    try:
        # The start step removes the earlier report; interrupt as soon as it has.
        while (out / "report.md").exists() and process.poll() is None:
            time.sleep(0.01)
        assert process.poll() is None, "the run ended and left the earlier report in place"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, f"not interrupted mid-run: {stderr}"
    assert list(out.iterdir()) == []  # no report, no scratch, no half-written file
