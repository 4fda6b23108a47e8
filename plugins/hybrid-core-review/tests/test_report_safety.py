"""The report's Markdown: everything taken from the tree is escaped, so it renders as data."""

from __future__ import annotations

import json
from pathlib import Path

from hybrid_core_review import collect, finish, markdown_text, start

from hybrid_core import ExecutionContext

EVIL_NAME = "evil\n## Owned <img src=x onerror=alert(1)>.py"
EVIL_MESSAGE = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> **bold** | cell"


def lint_result(message: str) -> dict:
    problem = {"line": 1, "column": 1, "code": "Crafted", "message": message}
    return {"provider": "pyflakes.lint", "result": {"ok": True, "problems": [problem]}}


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


def test_names_messages_and_code_cannot_inject_markdown(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ctx = ExecutionContext.root()
    start("src", str(out), ctx)
    file = {"path": f"/src/{EVIL_NAME}", "relpath": EVIL_NAME, "module": None}
    error = {"kind": "syntax", "message": "x.py:1:1: bad `<script>alert(1)</script>`"}
    collect(file, ctx, lint=lint_result(EVIL_MESSAGE))
    broken = {"provider": "pyast.complexity", "result": {"ok": False, "error": error}}
    collect({"path": "/src/x.py", "relpath": "x.py", "module": "x"}, ctx, complexity=broken)
    finish([], ctx)
    markdown = (out / "report.md").read_text()
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Code review of src",
        "## Engines that produced each finding",
        "## The 25 most complex functions",
        "## Import cycles",
        "## Lint problems",
        "## Files that could not be analysed",
    ]
    assert "<" not in markdown and "](" not in markdown
    assert "evil\\\\n\\#\\# Owned &lt;img src=x onerror=alert\\(1\\)&gt;.py:1 Crafted: " in markdown
    assert "\\*\\*bold\\*\\* \\| cell" in markdown
    assert "&lt;script&gt;" in markdown
    data = json.loads((out / "report.json").read_text())
    assert data["files"][0]["path"] == EVIL_NAME  # JSON holds the name as it is
