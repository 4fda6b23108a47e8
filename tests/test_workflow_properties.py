"""Properties of the runner over random DAGs with random failures, skips and durations.

Every step logs when an attempt starts and when it returns; each property is checked
against that log and against the run result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_helpers import (
    SKIPPED,
    RetryPolicy,
    RunStatus,
    StepStatus,
    Workflow,
    result,
    run,
)


@dataclass(frozen=True)
class Spec:
    """One random step: what it depends on and how it behaves."""

    name: str
    data: tuple[int, ...]  # steps whose results it takes
    order: tuple[int, ...]  # steps it waits for without taking their results
    fails: int  # how many first attempts raise
    attempts: int  # RetryPolicy.max_attempts
    duration: float  # seconds an async step sleeps (0: it never suspends)
    is_async: bool
    skip: bool  # its where-predicate is false
    undo: bool
    backoff: float


@st.composite
def specs(draw: st.DrawFn) -> tuple[list[Spec], int | None]:
    count = draw(st.integers(min_value=1, max_value=10))
    steps = []
    for i in range(count):
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        as_data = [draw(st.booleans()) for _ in deps]
        is_async = draw(st.booleans())
        steps.append(
            Spec(
                name=f"s{i}",
                data=tuple(d for d, keep in zip(deps, as_data, strict=True) if keep),
                order=tuple(d for d, keep in zip(deps, as_data, strict=True) if not keep),
                fails=draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
                attempts=draw(st.integers(min_value=1, max_value=3)),
                duration=draw(st.sampled_from([0.0, 0.0, 0.0005, 0.001, 0.002]))
                if is_async
                else 0.0,
                is_async=is_async,
                skip=draw(st.booleans()) and draw(st.booleans()),
                undo=draw(st.booleans()),
                backoff=draw(st.sampled_from([0.0, 0.0, 0.0005])),
            )
        )
    return steps, draw(st.sampled_from([None, 1, 2, 3]))


def value_of(spec: Spec, arguments: dict[str, Any]) -> str:
    """The pure function every step computes from its arguments."""
    parts = ",".join(f"{k}={v!r}" for k, v in sorted(arguments.items()))
    return f"{spec.name}({parts})"


class Body:
    """A step's function: logs each attempt, fails its first ``fails`` attempts."""

    def __init__(self, spec: Spec, log: list[tuple[str, str]]) -> None:
        self.spec = spec
        self.log = log
        self.calls = 0

    def _enter(self, arguments: dict[str, Any]) -> None:
        self.calls += 1
        self.log.append(("start", self.spec.name))
        if self.calls <= self.spec.fails:
            raise OSError(f"{self.spec.name} attempt {self.calls}")

    def sync(self, **arguments: Any) -> str:
        self._enter(arguments)
        self.log.append(("ok", self.spec.name))
        return value_of(self.spec, arguments)

    async def async_(self, **arguments: Any) -> str:
        self._enter(arguments)
        if self.spec.duration:
            await asyncio.sleep(self.spec.duration)
        self.log.append(("ok", self.spec.name))
        return value_of(self.spec, arguments)


def build(steps: list[Spec], log: list[tuple[str, str]]) -> Workflow:
    wf = Workflow("random")
    for spec in steps:
        body = Body(spec, log)

        def undo(result: Any, step: str) -> None:
            log.append(("undo", step))

        wf.step(
            spec.name,
            body.async_ if spec.is_async else body.sync,
            arguments={f"d{j}": result(f"s{j}") for j in spec.data},
            wait_for=[f"s{j}" for j in spec.order],
            retry=RetryPolicy(max_attempts=spec.attempts, backoff=spec.backoff, jitter=0.0),
            where=(lambda: False) if spec.skip else None,
            undo=undo if spec.undo else None,
        )
    wf.returns({spec.name: spec.name for spec in steps})
    return wf


def sequential(steps: list[Spec]) -> dict[str, Any]:
    """Evaluate the same graph one step at a time, in definition order."""
    values: dict[str, Any] = {}
    for spec in steps:
        if spec.skip:
            values[spec.name] = SKIPPED
        else:
            values[spec.name] = value_of(spec, {f"d{j}": values[f"s{j}"] for j in spec.data})
    return values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_dags_keep_every_promise(drawn: tuple[list[Spec], int | None]) -> None:
    steps, max_concurrency = drawn
    log: list[tuple[str, str]] = []
    out = run(build(steps, log), max_concurrency=max_concurrency)
    by_name = {spec.name: spec for spec in steps}
    expected = sequential(steps)

    # Every step runs at most max_attempts times, and its record counts them.
    starts = [name for what, name in log if what == "start"]
    for spec in steps:
        assert starts.count(spec.name) <= spec.attempts
        if starts.count(spec.name):
            assert out.steps[spec.name].attempts == starts.count(spec.name)

    # A step never starts before everything it depends on succeeded.
    returned: set[str] = set()
    for what, name in log:
        if what == "start":
            for j in (*by_name[name].data, *by_name[name].order):
                dep = steps[j]
                assert dep.name in returned or dep.skip, f"{name} started before {dep.name}"
        elif what == "ok":
            returned.add(name)

    # The run succeeds exactly when no step that must run fails for good.
    doomed = any(s.fails >= s.attempts and not s.skip for s in steps)
    assert (out.status is RunStatus.SUCCEEDED) is not doomed, out.summary()

    # No result is lost: every step that returned holds the value a sequential run computes.
    oks = [name for what, name in log if what == "ok"]
    assert len(oks) == len(set(oks))
    for name in oks:
        rec = out.steps[name]
        assert rec.result == expected[name]
        assert rec.status in (StepStatus.SUCCEEDED, StepStatus.UNDONE)
    for spec in steps:
        rec = out.steps[spec.name]
        if rec.status is StepStatus.SKIPPED:
            assert spec.skip and rec.result is SKIPPED

    undos = [name for what, name in log if what == "undo"]
    if out.status is RunStatus.SUCCEEDED:
        assert out.value == expected
        assert undos == []
    else:
        # Every completed undoable step is undone exactly once, newest first.
        undoable = [name for name in oks if by_name[name].undo]
        assert undos == undoable[::-1]
        assert {out.steps[n].status for n in undoable} <= {StepStatus.UNDONE}
        assert out.completed == tuple(n for n in out.completed if n in oks or by_name[n].skip)
