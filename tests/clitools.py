"""Run the real ``hybrid`` executable in a subprocess, as a user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def hybrid_executable() -> list[str]:
    """The installed ``hybrid`` script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "hybrid"
    if script.exists():
        return [str(script)]
    found = shutil.which("hybrid")
    return [found] if found else [sys.executable, "-m", "hybrid_core"]


def hybrid_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without plugin selection, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k != "HYBRID_CORE_PLUGINS"}
    full_env.update(env or {})
    return full_env


def run_hybrid(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hybrid_executable(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=hybrid_env(env),
        timeout=120,
        check=False,
    )


def start_hybrid(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``hybrid ARGS`` without waiting, for a test that signals it."""
    return subprocess.Popen(
        [*hybrid_executable(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=hybrid_env(env),
    )
