"""Soak the journal's crash test: many more SIGKILL points than CI runs.

    python benchmarks/soak_journal.py            # 500 kill points
    python benchmarks/soak_journal.py --kills 2000

Runs ``tests/test_journal_crash.py`` (real ``hybrid run`` processes killed with SIGKILL
after a random number of step bodies, then ``hybrid resume``) with the number of kill
points given, and prints how many landed in each phase of the run. It is not a suite of
``run.py``: it measures correctness under faults, not speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/soak_journal.py")
    parser.add_argument("--kills", type=int, default=500, help="kill points (default 500)")
    args = parser.parse_args()
    env = {**os.environ, "HYBRID_CRASH_KILLS": str(args.kills)}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s",
         "tests/test_journal_crash.py"],
        cwd=REPO, env=env, check=False,
    )  # fmt: skip
    took = time.monotonic() - began
    verdict = "passed" if done.returncode == 0 else "FAILED"
    print(f"{args.kills} kill points: {verdict} in {took:.0f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
