"""``hybrid doctor`` asks every engine's own health check, through the real executable."""

from __future__ import annotations

import json
import time
from pathlib import Path

from clitools import run_hybrid

PLUGIN = """
import time
import hybrid_core

async def echo(payload):
    return payload

async def fine():
    return True

def flat():
    return False

def broken():
    raise ConnectionError("the model server refused the connection")

def stuck():
    time.sleep(60)
    return True

CHECKS = {"fine": fine, "flat": flat, "broken": broken, "stuck": stuck,
          "coroutine": lambda: fine(), "none": None}

@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name=f"h.{name}", capabilities={"health.echo": 1},
                               handler=echo, health_check=check)
            for name, check in CHECKS.items()]
"""

HEALTHY = """
import hybrid_core

async def echo(payload):
    return payload

@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="h.only", capabilities={"health.echo": 1}, handler=echo,
                               health_check=lambda: {"model": "loaded"})]
"""


def _doctor(folder: Path, module: str, *args: str) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    done = run_hybrid("-p", module, "doctor", "--json", *args, cwd=folder)
    took = time.monotonic() - started
    return done.returncode, json.loads(done.stdout), took


def test_every_engines_health_check_is_asked_and_each_failure_named(tmp_path: Path) -> None:
    (tmp_path / "health_plugin.py").write_text(PLUGIN)
    code, report, took = _doctor(tmp_path, "health_plugin", "--health-timeout", "1")
    assert code == 1 and report["healthy"] is False
    engines = report["engines"]
    assert isinstance(engines, dict)
    assert {k: v for k, v in engines.items() if k.startswith("h.")} == {
        "h.fine": "ok",
        "h.coroutine": "ok",
        "h.flat": "answered False (a healthy engine answers truthy)",
        "h.broken": "failed (ConnectionError: the model server refused the connection)",
        "h.stuck": "did not answer within 1 s (--health-timeout sets the limit)",
    }  # h.none has no health check: not asked
    problems = report["problems"]
    assert isinstance(problems, list)
    assert "engine 'h.stuck': its health check did not answer within 1 s" in " ".join(problems)
    assert not any("h.fine" in p for p in problems)
    # The check sleeping for a minute holds neither the command nor the process's exit.
    assert took < 30


def test_healthy_engines_leave_doctor_healthy_and_the_text_report_counts_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "healthy_plugin.py").write_text(HEALTHY)
    alone = {"HYBRID_CORE_PLUGINS": ""}  # no installed plugin: only the one loaded by -p
    done = run_hybrid("-p", "healthy_plugin", "doctor", "--json", cwd=tmp_path, env=alone)
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["engines"] == {"h.only": "ok"}
    text = run_hybrid("-p", "healthy_plugin", "doctor", cwd=tmp_path, env=alone)
    assert text.returncode == 0 and "health       1 checked, 1 ok" in text.stdout


def test_a_health_timeout_that_is_not_a_positive_number_exits_2(tmp_path: Path) -> None:
    for bad in ("0", "-1", "soon"):
        done = run_hybrid("doctor", "--health-timeout", bad, cwd=tmp_path)
        assert done.returncode == 2, (bad, done.stderr)
        assert "--health-timeout" in done.stderr
