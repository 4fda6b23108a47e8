"""Properties of routed and parallel steps over random DAGs with randomly failing engines.

Each capability has two engines that compute the same deterministic function of the
payload, so a step's value must not depend on which engine served it; one engine may
fail its first calls, the other may fail always. Every engine call is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybrid_core as hc
from hybrid_core import Engine, Hybrid, RoutingPolicy, capability_step, parallel_step
from hybrid_core.testing import make_plugin

CAPS = ("c.zero", "c.one", "c.two")
ROUTE_RETRIES = 1


@dataclass(frozen=True)
class StepSpec:
    name: str
    capability: str
    deps: tuple[int, ...]
    parallel: bool


@dataclass(frozen=True)
class EngineSpec:
    flaky_failures: int  # the preferred engine fails its first calls
    backup_broken: bool  # the other engine always fails


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[StepSpec], dict[str, EngineSpec]]:
    count = draw(st.integers(min_value=1, max_value=8))
    steps = []
    for i in range(count):
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=2)) if i else []
        steps.append(StepSpec(f"s{i}", draw(st.sampled_from(CAPS)), tuple(sorted(deps)),
                              draw(st.booleans())))  # fmt: skip
    engines = {
        cap: EngineSpec(draw(st.sampled_from([0, 0, 1, 2, 5])), draw(st.booleans())) for cap in CAPS
    }
    return steps, engines


def compute(capability: str, payload: Any) -> str:
    parts = sorted(f"{k}={v}" for k, v in payload.items()) if isinstance(payload, dict) else []
    return f"{capability}({','.join(parts)})"


def make_engines(engines: dict[str, EngineSpec], log: list[tuple[str, str, bool]]) -> list[Engine]:
    made = []
    for cap, spec in engines.items():
        calls = {"n": 0}

        def preferred(payload: Any, cap: str = cap, spec: EngineSpec = spec,
                      calls: dict[str, int] = calls) -> str:  # fmt: skip
            calls["n"] += 1
            ok = calls["n"] > spec.flaky_failures
            log.append((cap, "preferred", ok))
            if not ok:
                raise ConnectionError(f"{cap} preferred down")
            return compute(cap, payload)

        def backup(payload: Any, cap: str = cap, spec: EngineSpec = spec) -> str:
            log.append((cap, "backup", not spec.backup_broken))
            if spec.backup_broken:
                raise ConnectionError(f"{cap} backup down")
            return compute(cap, payload)

        made.append(Engine(name=f"{cap}.preferred", capabilities={cap: 9}, handler=preferred))
        made.append(Engine(name=f"{cap}.backup", capabilities={cap: 1}, handler=backup))
    return made


def build(steps: list[StepSpec]) -> hc.Workflow:
    wf = hc.Workflow("random")
    for spec in steps:
        args = {f"a{d}": hc.result(f"s{d}") for d in spec.deps}
        if spec.parallel:
            wf.add(parallel_step(spec.name, spec.capability, aggregate="first", **args))
        else:
            wf.add(capability_step(spec.name, spec.capability, route_retries=ROUTE_RETRIES,
                                   **args))  # fmt: skip
    wf.returns({s.name: s.name for s in steps})
    return wf


def expected(steps: list[StepSpec]) -> dict[str, str]:
    values: dict[str, str] = {}
    for spec in steps:
        values[spec.name] = compute(spec.capability, {f"a{d}": values[f"s{d}"] for d in spec.deps})
    return values


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_routed_and_parallel_steps_keep_every_promise(
    drawn: tuple[list[StepSpec], dict[str, EngineSpec]],
) -> None:
    steps, engines = drawn
    log: list[tuple[str, str, bool]] = []
    policy = RoutingPolicy(backoff=0.0, cooldown_after=1000, retry_budget=1000.0)
    system = Hybrid(plugins=[make_plugin("p", engines=make_engines(engines, log))],
                    entry_points=False, routing=policy)  # fmt: skip
    with system:
        outcome = system.run(build(steps))
    records = outcome.steps
    want = expected(steps)
    calls_per_cap = {cap: sum(1 for c, _, _ in log if c == cap) for cap in CAPS}
    for spec in steps:
        record = records[spec.name]
        # A routed step calls at most 1 + route_retries engines per attempt; a parallel
        # step calls each engine of its capability at most once per attempt.
        per_attempt = 2 if spec.parallel else 1 + ROUTE_RETRIES
        assert record.attempts <= 1
        assert calls_per_cap[spec.capability] <= per_attempt * sum(
            1 for s in steps if s.capability == spec.capability
        )
        if record.status.value == "succeeded":
            # The value does not depend on which engine served it.
            assert record.result == want[spec.name]
            assert record.provider is not None
            for dep in spec.deps:  # never before what it depends on succeeded
                assert records[f"s{dep}"].status.value == "succeeded"
    if outcome.status.value == "succeeded":
        assert outcome.value == want
    else:
        failed = [s for s in steps if records[s.name].status.value == "failed"]
        assert failed, "a failed run names the step that failed"
        # No completed result is lost: every succeeded step still holds its value.
        for spec in steps:
            if records[spec.name].status.value == "succeeded":
                assert outcome.results[spec.name] == want[spec.name]
        # A step fails only when both of its capability's engines failed at least once.
        for spec in failed:
            cap_log = [(who, ok) for c, who, ok in log if c == spec.capability]
            assert ("backup", False) in cap_log or not any(w == "backup" for w, _ in cap_log)
            assert ("preferred", False) in cap_log
