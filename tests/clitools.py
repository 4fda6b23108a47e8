"""Run the real ``hybrid`` executable in a subprocess, as a user does."""

from __future__ import annotations

import ctypes
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


# Linux capabilities that let root read any file whatever its mode (linux/capability.h).
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _PR_CAPBSET_DROP = 1, 2, 24


def _without_root_file_access() -> None:
    """In the child before exec: drop the capabilities that let root ignore file modes.

    Dropped from the bounding set, they are gone from the program exec'd next, so a
    folder of mode 000 is as unreadable to it as to any user.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_hybrid(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    honour_modes: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``hybrid ARGS``; ``honour_modes`` makes file modes bind even a root process."""
    confine = {"preexec_fn": _without_root_file_access} if honour_modes and _is_root() else {}
    return subprocess.run(
        [*hybrid_executable(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=hybrid_env(env),
        timeout=120,
        check=False,
        **confine,  # type: ignore[arg-type]
    )


def _is_root() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


def start_hybrid(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``hybrid ARGS`` without waiting, for a test that signals it."""
    return subprocess.Popen(
        [*hybrid_executable(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=hybrid_env(env),
    )


def pip_install_into(source: Path, target: Path) -> Path:
    """``pip install`` the distribution at ``source`` into the folder ``target``, as a user
    would (its dependencies are this environment's), and return ``target``."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return target
