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


def run_hybrid(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "HYBRID_CORE_PLUGINS"}
    full_env.update(env or {})
    return subprocess.run(
        [*hybrid_executable(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
        check=False,
    )
