"""The report's output folder and its Markdown: nothing planted there or in the tree leaks.

A symlink planted as a report is replaced, not followed; a new run removes the previous
report before it starts; each report names its run; everything taken from the tree is
escaped in Markdown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hybrid_core_review import collect, finish, markdown_text, start

from hybrid_core import ExecutionContext

EVIL_NAME = "evil\n## Owned <img src=x onerror=alert(1)>.py"
EVIL_MESSAGE = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> **bold** | cell"


def lint_result(message: str) -> dict:
    problem = {"line": 1, "column": 1, "code": "Crafted", "message": message}
    return {"provider": "pyflakes.lint", "result": {"ok": True, "problems": [problem]}}


def test_planted_symlinks_are_replaced_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victims = {name: tmp_path / f"victim-{name}" for name in ("report.md", "report.json")}
    for name, victim in victims.items():
        victim.write_text("precious\n")
        (out / name).symlink_to(victim)
    (out / ".files.jsonl").symlink_to(tmp_path / "victim-report.md")  # the old scratch name
    ctx = ExecutionContext.root()
    start("src", str(out), ctx)
    finish([], ctx)
    for name, victim in victims.items():
        assert victim.read_text() == "precious\n"
        assert not (out / name).is_symlink() and (out / name).is_file()
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]


def test_a_new_run_removes_the_old_report_and_names_itself(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("# an old report\n")
    (out / "report.json").write_text("{}\n")
    ctx = ExecutionContext.root()
    start("src", str(out), ctx)
    # Interrupted here, the run leaves no report, and no scratch file either.
    assert list(out.iterdir()) == []
    finish([], ctx)
    data = json.loads((out / "report.json").read_text())
    assert data["run"] == ctx.run_id and data["started"].endswith("Z")
    assert f"Run {ctx.run_id}, started {data['started']}." in (out / "report.md").read_text()
    assert oct((out / "report.md").stat().st_mode & 0o777) == oct(0o644)


def test_markdown_text_renders_as_data() -> None:
    assert markdown_text("a\nb\r\tc\x00\u202e") == "a\\\\nb\\\\r\\\\tc\\\\x00\\\\u202e"
    assert markdown_text("<img src=x onerror=alert(1)>") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt;"
    )
    assert markdown_text("[x](javascript:alert(1))") == "\\[x\\]\\(javascript:alert\\(1\\)\\)"
    assert markdown_text("**b** _e_ `c` a|b # h & ~s~ !") == (
        "\\*\\*b\\*\\* \\_e\\_ \\`c\\` a\\|b \\# h &amp; \\~s\\~ \\!"
    )
    assert markdown_text("C:\\dir") == "C:\\\\dir"
    assert markdown_text(os.fsdecode(b"\xff.py")) == "\\\\xff.py"


def test_names_messages_and_code_cannot_inject_markdown(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ctx = ExecutionContext.root()
    start("src", str(out), ctx)
    file = {"path": f"/src/{EVIL_NAME}", "relpath": EVIL_NAME, "module": None}
    error = {"kind": "syntax", "message": "x.py:1:1: bad `<script>alert(1)</script>`"}
    collect(file, ctx, lint=lint_result(EVIL_MESSAGE))
    broken = {"provider": "pyast.complexity", "result": {"ok": False, "error": error}}
    collect({"path": "/src/x.py", "relpath": "x.py", "module": "x"}, ctx, complexity=broken)
    skipped = [{"path": "odd\n# <b>.py", "kind": "special-file", "reason": "a FIFO <i>"}]
    finish([], ctx, skipped=skipped)
    markdown = (out / "report.md").read_text()
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Code review of src",
        "## Look here first",
        "## Engines that produced each finding",
        "## Findings not made by the preferred engine",
        "## The 25 most complex functions",
        "## Import cycles",
        "## Lint problems",
        "## Files that could not be analysed",
        "## Files and folders not reviewed",
    ]
    assert "<" not in markdown and "](" not in markdown
    assert "evil\\\\n\\#\\# Owned &lt;img src=x onerror=alert\\(1\\)&gt;.py:1 Crafted: " in markdown
    assert "\\*\\*bold\\*\\* \\| cell" in markdown
    assert "&lt;script&gt;" in markdown
    assert "- odd\\\\n\\# &lt;b&gt;.py (special-file): a FIFO &lt;i&gt;" in markdown
    data = json.loads((out / "report.json").read_text())
    assert data["files"][0]["path"] == EVIL_NAME  # JSON holds the name as it is
    assert data["skipped"] == skipped and data["totals"]["skipped"] == 1
