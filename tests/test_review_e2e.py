"""The main job end to end: ``hybrid run review`` on a fixture tree with known findings.

Runs the workflow hybrid-core-review ships, with the settings of examples/review/hybrid.toml,
through the real CLI, with the plugin distributions the test environment pip-installed.
"""

from __future__ import annotations

import json
import os
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
    (cycle,) = report["import_cycles"]
    assert (cycle["size"], cycle["modules"]) == (2, ["app.core", "app.util"])
    assert cycle["cycles"] == [[
        {"from": "app.core", "to": "app.util", "path": "app/core.py", "line": 3},
        {"from": "app.util", "to": "app.core", "path": "app/util.py", "line": 2},
    ]]  # fmt: skip
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
    edges = "- app.core -> app.util (app/core.py:3)\n    - app.util -> app.core (app/util.py:2)"
    assert edges in markdown


@pytest.mark.skipif(not installed("hybrid-core-review"), reason="needs the review plugin (tox)")
def test_without_the_second_distribution_the_fallback_serves(
    source_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = run_hybrid(
        "run", "review", "--config", str(CONFIG), "--json",
        "--input", f"path={source_tree}", "--input", f"out={out}",
        env={"HYBRID_CORE_PLUGINS": "pyast,review"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["engines"]["python.complexity"]) == {"pyast.complexity"}


@pytest.mark.skipif(
    not (installed("hybrid-core-review") and installed("hybrid-core-pyanalysis")),
    reason="needs the review and pyanalysis plugins (tox)",
)
def test_findings_a_fallback_made_are_named_in_the_report_and_on_stderr(
    source_tree: Path, tmp_path: Path
) -> None:
    # pyflakes cannot answer within a microsecond: every file's lint falls back to pyast.
    config = tmp_path / "hybrid.toml"
    config.write_text(
        f'extends = "{CONFIG}"\n[engines."pyflakes.lint"]\ntimeout = 0.000001\n'
    )
    out = tmp_path / "report"
    result = run_hybrid(
        "run", "review", "--config", str(config), "--json",
        "--input", f"path={source_tree}", "--input", f"out={out}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    fallbacks = report["fallbacks"]
    assert {(f["capability"], f["engine"]) for f in fallbacks} == {("python.lint", "pyast.lint")}
    assert all("pyflakes.lint" in f["why"] for f in fallbacks)
    assert sum(f["files"] for f in fallbacks) == report["totals"]["fallbacks"] == 6
    assert report["engines"]["python.lint"] == {"pyast.lint": 6}
    markdown = (out / "report.md").read_text()
    assert "- python.lint: pyast.lint served " in markdown
    assert "pyflakes.lint failed \\(EngineTimeout\\)" in markdown
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes and all("in place of the preferred provider: pyflakes.lint" in n for n in notes)
    routed = json.loads(result.stdout)["fallbacks"]
    assert sum(f["requests"] for f in routed) == 6


needs_review = pytest.mark.skipif(
    not installed("hybrid-core-review"), reason="needs the review plugin (tox)"
)
EVIL_NAME = "evil\n## Owned <img src=x onerror=alert(1)>.py"


def review(root: Path | str, out: Path, *extra: str, honour_modes: bool = False) -> Any:
    return run_hybrid(
        "run", "review", "--config", str(CONFIG), "--json",
        "--input", f"path={root}", "--input", f"out={out}", *extra, honour_modes=honour_modes,
    )  # fmt: skip


@needs_review
def test_a_hostile_tree_ends_with_a_complete_report(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (root / "ok.py").write_text("import os as __bold__\n")
    os.mkfifo(root / "p.py")
    (root / "z.py").symlink_to("/dev/zero")
    (root / "loop.py").symlink_to("loop.py")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("..")
    with (root / "huge.py").open("wb") as f:
        f.truncate(20 * 1024 * 1024)
    with open(os.fsencode(root) + b"/\xff.py", "w") as f:
        f.write("x = 1\n")
    (root / EVIL_NAME).write_text("import sys  # <img src=x onerror=alert(1)>\n")
    out = tmp_path / "report"
    result = review(root, out)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert {s["path"]: s["kind"] for s in report["skipped"]} == {
        "\\xff.py": "undecodable-name",
        "huge.py": "too-large",
        "loop.py": "symlink-loop",
        "p.py": "special-file",
        "sub/up": "symlink-folder",
        "z.py": "special-file",
    }
    assert sorted(f["path"] for f in report["files"]) == [EVIL_NAME, "ok.py"]
    assert report["totals"]["files"] == 2 and report["totals"]["skipped"] == 6
    markdown = (out / "report.md").read_text()
    assert "<" not in markdown and "\n## Owned" not in markdown
    assert "evil\\\\n\\#\\# Owned &lt;img src=x onerror=alert\\(1\\)&gt;.py" in markdown
    assert "'os as \\_\\_bold\\_\\_' imported but unused" in markdown  # pyflakes' message
    assert "- \\\\xff.py (undecodable-name)" in markdown


@needs_review
@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("", "input 'path' must name a folder or a .py file to review, e.g. path=src"),
        ("/dev/null", "input 'path' '/dev/null' is a character device; give a folder or"),
        ("{tmp}/missing", "does not exist; give a folder or a .py file"),
        ("{tmp}/notes.txt", "is a file the include globs ['*.py'] do not match"),
    ],
)
def test_a_bad_root_is_one_line_naming_the_input(tmp_path: Path, root: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("")
    out = tmp_path / "report"
    result = review(root.format(tmp=tmp_path), out, "-q")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not (out / "report.md").exists()


@needs_review
def test_a_bad_root_is_a_usage_error(tmp_path: Path) -> None:
    result = review(tmp_path / "missing", tmp_path / "report")
    assert result.returncode == 2, result.stderr
    using, line = result.stderr.splitlines()
    assert using.startswith("using configuration ") and using.endswith("hybrid.toml"), using
    assert line.startswith("error: ") and "'path'" in line, line


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


@needs_review
@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX file modes")
def test_unreadable_folders_are_reported_and_an_unreadable_root_refused(tmp_path: Path) -> None:
    root = tmp_path / "src"
    locked = root / "locked"
    locked.mkdir(parents=True)
    (locked / "hidden.py").write_text("")
    (root / "a.py").write_text("x = 1\n")
    locked.chmod(0)
    try:
        # As root, the review runs without the capabilities that ignore file modes.
        result = review(root, tmp_path / "report", honour_modes=True)
        refused = review(locked, tmp_path / "report2", "-q", honour_modes=True)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [(s["path"], s["kind"]) for s in report["skipped"]] == [("locked", "unreadable")]
    assert "Permission denied" in report["skipped"][0]["reason"]
    assert [f["path"] for f in report["files"]] == ["a.py"]
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "input 'path'" in refused.stderr and "cannot be read" in refused.stderr


def _without_timings(report_dir: Path) -> tuple[Any, str]:
    data = json.loads((report_dir / "report.json").read_text())
    for key in ("run", "started"):
        data.pop(key)
    data["totals"].pop("seconds")
    markdown = (report_dir / "report.md").read_text().splitlines()
    kept = [line for line in markdown if not line.startswith(("Run ", "| seconds |"))]
    return data, "\n".join(kept)


@needs_review
def test_the_report_does_not_depend_on_completion_order_or_worker_count(
    tmp_path: Path,
) -> None:
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    for k in range(48):
        # Equal complexity everywhere and more lint problems than report.md lists (200),
        # so only the documented order can decide what is shown and in which order.
        body = "import os, sys, json, re\n\ndef f(x):\n    if x:\n        return y\n    return 0\n"
        (root / "pkg" / f"m{k:02}.py").write_text(body)
    reports = []
    for workers, concurrency in ((1, 1), (2, 16)):
        config = tmp_path / f"hybrid{workers}.toml"
        config.write_text(f'extends = "{CONFIG}"\n[executor]\nmax_processes = {workers}\n')
        out = tmp_path / f"report{workers}"
        result = review(root, out, "--config", str(config), "--max-concurrency", str(concurrency))
        assert result.returncode == 0, result.stderr
        reports.append(_without_timings(out))
    assert reports[0] == reports[1]
    data, markdown = reports[0]
    assert [f["path"] for f in data["files"]] == sorted(f["path"] for f in data["files"])
    assert data["totals"]["lint_problems"] == 48 * 5
    shown = [line for line in markdown.splitlines() if line.startswith("- pkg/m")]
    assert len(shown) == 200


@needs_review
def test_the_report_puts_likely_bugs_first_and_counts_noqa(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.py").write_text("import os  # noqa: F401\nimport sys\n\n\ndef f():\n    return y\n")
    out = tmp_path / "report"
    result = review(root, out)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["lint_suppressed"] == 1
    assert report["totals"]["likely_bugs"] == 1
    (entry,) = report["files"]
    assert [(p["code"], p["severity"]) for p in entry["lint"]] == [
        ("UndefinedName", "error"),
        ("UnusedImport", "warning"),
    ]
    markdown = (out / "report.md").read_text()
    first_look = markdown.split("## Look here first", 1)[1].split("| measure |", 1)[0]
    assert "- Likely bugs: 1:" in first_look and "a.py:6 F821 UndefinedName" in first_look
    assert "| UnusedImport | F401 | warning | 1 |" in markdown
    assert "1 more silenced by `# noqa` comments." in markdown
