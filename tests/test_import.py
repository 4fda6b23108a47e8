"""Importing hybrid_core has no side effects: no CLI, no entry-point scan, no threads."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, threading, importlib.metadata as md
calls = []
real = md.entry_points
md.entry_points = lambda *a, **k: calls.append(1) or real(*a, **k)
before = threading.active_count()
import hybrid_core
assert "hybrid_core._cli" not in sys.modules, "the CLI was imported"
assert "click" not in sys.modules, "click was imported"
assert calls == [], "entry points were scanned at import"
assert threading.active_count() == before, "a thread was started at import"
print("ok")
"""


def test_import_has_no_side_effects() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr
