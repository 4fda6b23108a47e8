"""Workflows for the journal's crash tests: every step body appends its path to a log.

The log (``CRASH_LOG``, one line per body run, appended with O_APPEND and fsynced) is how
a test counts how often each body ran across a killed run and its resume. Durations are
short but real, so that a kill lands inside a chain step, a map's fan-out, a compensation
or an undo. ``CRASH_FAIL=1`` makes the last step fail, so that the run rolls back.
"""

from __future__ import annotations

import os
import time
from typing import Any

import hybrid_core as hc


def _log(what: str) -> None:
    fd = os.open(os.environ["CRASH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{what}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _body(context: hc.ExecutionContext, value: Any, pause: float) -> Any:
    time.sleep(pause)
    _log(context.path)
    return value


def start(n: int, context: hc.ExecutionContext) -> list[int]:
    return _body(context, list(range(n)), 0.03)


def double(x: int, context: hc.ExecutionContext) -> int:
    return _body(context, x * 2, 0.02)


def label(y: int, context: hc.ExecutionContext) -> tuple[int, str]:
    return _body(context, (y, f"item-{y}"), 0.02)


def flaky(items: list[Any], context: hc.ExecutionContext) -> int:
    _body(context, None, 0.03)
    raise RuntimeError("flaky always fails; its compensation supplies the value")


def recover(error: Exception, context: hc.ExecutionContext) -> hc.ContinueWith:
    time.sleep(0.03)
    _log(f"compensate:{context.path}")
    return hc.ContinueWith(len(str(error)) % 7)


def total(items: list[Any], bonus: int, context: hc.ExecutionContext) -> dict[str, Any]:
    value = {"sum": sum(i for i, _ in items), "bonus": bonus, "labels": [s for _, s in items]}
    value = _body(context, value, 0.03)
    if os.environ.get("CRASH_FAIL"):
        raise RuntimeError("the last step fails; the run rolls back")
    return value


def undo_it(result: Any, context: hc.ExecutionContext) -> None:
    time.sleep(0.03)
    _log(f"undo:{context.path}")


element = hc.Workflow("element", inputs=["x"])
element.step("double", double, x=hc.input("x"), undo=undo_it)
element.step("label", label, y=hc.result("double"), undo=undo_it)
element.returns(hc.result("label"))

flow = hc.Workflow("crashflow", inputs=["n"])
flow.step("start", start, n=hc.input("n"), undo=undo_it)
flow.map("each", element, over=hc.result("start"), item="x", concurrency=3)
flow.step("flaky", flaky, items=hc.result("each"), compensate=recover)
flow.step("total", total, items=hc.result("each"), bonus=hc.result("flaky"), undo=undo_it)
flow.returns(hc.result("total"))
