"""Every ```python block of docs/*.md and README.md runs, so the examples cannot rot.

A block runs on its own, in a fresh namespace, in a fresh temporary working directory;
top-level ``await`` is allowed (the block then runs in a new event loop), since the
docs show a host's ``async with hc.Hybrid() as system:``. A block that is a fragment by
design (it names things the page only describes, or shows a shape rather than code) is
marked with ``<!-- not-run -->`` on the last non-blank line before its fence; the
marker is the only way to skip one. A failure names the file and the line of the fence.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import traceback
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])
MARKER = "<!-- not-run -->"
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


class Block(NamedTuple):
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The ```python blocks of one page, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, language = opening.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        if language == "python":
            skipped = _last_text_before(lines, i) == MARKER
            body = [text.removeprefix(indent) for text in lines[i + 1 : end]]
            found.append(Block(page, i + 1, "\n".join(body) + "\n", skipped))
        i = end + 1
    return found


def _last_text_before(lines: list[str], index: int) -> str:
    for text in reversed(lines[:index]):
        if text.strip():
            return text.strip()
    return ""


ALL = [block for page in PAGES for block in blocks(page)]


def _run(block: Block) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(block.code, f"<{block.where}>", "exec", flags=flags, dont_inherit=True)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


@pytest.mark.parametrize("block", [b for b in ALL if not b.skipped], ids=lambda b: b.where)
def test_the_example_runs(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [block.where])
    detail = None
    try:
        _run(block)
    except Exception:  # noqa: BLE001 - reported with where the block is
        detail = traceback.format_exc(limit=-3)
    if detail is not None:
        pytest.fail(f"the example at {block.where} failed:\n{detail}", pytrace=False)


def test_the_pages_have_examples_that_run() -> None:
    # Guards the extraction itself: a fence pattern that matched nothing would pass above.
    assert len(ALL) > 15
    assert sum(not b.skipped for b in ALL) >= 10


def test_the_marker_is_read_just_before_a_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n<!-- not-run -->\n\n```python\nfragment(...)\n```\n\n"
        "```python\nx = 1\n```\n\n<!-- not-run -->\nMore text.\n\n```python\ny = 2\n```\n"
    )
    found = blocks(page)
    assert [(b.line, b.skipped, b.code) for b in found] == [
        (5, True, "fragment(...)\n"),
        (9, False, "x = 1\n"),
        (16, False, "y = 2\n"),
    ]
