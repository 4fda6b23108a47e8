"""Reading a workflow before it runs: its shape, and what it will ask of the pools.

The levels are the steps grouped by how many dependencies deep they are: steps of one
level may all run at once. For each level, the resource needs of its engine and
capability steps are added up per pool (a capability step counts its most demanding
provider, since any of them may serve it); where a level asks a pool for more than it
holds, the steps that do not fit in the first round must wait: they are "serialised" by
that pool. A need larger than a whole pool can never be met and is reported as a problem
here, instead of surfacing as a wait that never ends at run time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._core.registry import Registry
from .._core.resources import ResourcePools
from .._workflow import Workflow
from .steps import _Parallel, _Pinned, _Routed

__all__ = ["ExecutionPlan", "plan_workflow"]


@attrs.frozen
class ExecutionPlan:
    """What a workflow will need: critical path, widest level, peak demand per pool."""

    workflow: str
    steps: int
    levels: tuple[tuple[str, ...], ...]
    critical_path: tuple[str, ...]
    widest_level: int
    peak_demand: Mapping[str, float]
    pool_sizes: Mapping[str, float]
    serialised: Mapping[str, int]
    problems: tuple[str, ...]

    @property
    def bottleneck(self) -> str | None:
        """The pool that will serialise the most steps, or None when none has to."""
        if not self.serialised:
            return None
        return max(sorted(self.serialised), key=lambda pool: self.serialised[pool])

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=False)
        out.update(
            levels=[list(level) for level in self.levels],
            critical_path=list(self.critical_path),
            peak_demand=dict(self.peak_demand),
            pool_sizes=dict(self.pool_sizes),
            serialised=dict(self.serialised),
            problems=list(self.problems),
            bottleneck=self.bottleneck,
        )
        return out

    def render(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"workflow {self.workflow}: {self.steps} step(s) in {len(self.levels)} level(s)",
            f"critical path ({len(self.critical_path)} steps): " + " -> ".join(self.critical_path),
        ]
        if self.levels:
            widest = self.levels[self.widest_level]
            lines.append(
                f"widest level: {self.widest_level} with {len(widest)} step(s): "
                + ", ".join(widest)
            )
        for pool in sorted(set(self.peak_demand) | set(self.pool_sizes)):
            size = self.pool_sizes.get(pool)
            held = f" of {size:g}" if size is not None else " (pool not declared: unlimited)"
            waits = self.serialised.get(pool, 0)
            tail = f"; {waits} step(s) must wait for it" if waits else ""
            lines.append(f"pool {pool}: peak demand {self.peak_demand.get(pool, 0):g}{held}{tail}")
        lines.append(f"bottleneck: {self.bottleneck or 'none (every level fits its pools)'}")
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _needs(step: Any, registry: Registry) -> Mapping[str, float]:
    invoke = step.invoke
    if isinstance(invoke, _Pinned):
        provider = registry.get(invoke.target)
        return _resources_of(provider.target) if provider else {}
    if isinstance(invoke, (_Routed, _Parallel)):
        providers = registry.providers(invoke.capability)
        if isinstance(invoke, _Parallel):  # every provider is called at once: sum them
            return _sum(_resources_of(p.target) for p in providers)
        return _max(_resources_of(p.target) for p in providers)
    return {}


def _resources_of(target: Any) -> Mapping[str, float]:
    needs = getattr(target, "resources", None)
    return needs if isinstance(needs, Mapping) else {}


def _sum(items: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for needs in items:
        for pool, amount in needs.items():
            out[pool] = out.get(pool, 0.0) + amount
    return out


def _max(items: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for needs in items:
        for pool, amount in needs.items():
            out[pool] = max(out.get(pool, 0.0), amount)
    return out


def _levels(deps: Sequence[Sequence[int]], order: Sequence[int]) -> list[int]:
    level = [0] * len(deps)
    for i in order:
        if deps[i]:
            level[i] = 1 + max(level[d] for d in deps[i])
    return level


def _critical_path(deps: Sequence[Sequence[int]], order: Sequence[int]) -> list[int]:
    """The longest chain of dependencies (in steps); ties go to the earlier-defined step."""
    best = [1] * len(deps)
    via: list[int | None] = [None] * len(deps)
    for i in order:
        for d in sorted(deps[i]):
            if best[d] + 1 > best[i]:
                best[i], via[i] = best[d] + 1, d
    if not best:
        return []
    end = max(range(len(best)), key=lambda i: (best[i], -i))
    path = [end]
    while (prev := via[path[-1]]) is not None:
        path.append(prev)
    return path[::-1]


def _serialised(
    level_needs: Sequence[Mapping[str, float]], sizes: Mapping[str, float]
) -> dict[str, int]:
    """Per pool, how many of a level's steps cannot start in the level's first round."""
    waits: dict[str, int] = {}
    for pool, size in sizes.items():
        taken, blocked = 0.0, 0
        for needs in level_needs:
            amount = needs.get(pool, 0.0)
            if not amount:
                continue
            if taken + amount <= size:
                taken += amount
            else:
                blocked += 1
        if blocked:
            waits[pool] = waits.get(pool, 0) + blocked
    return waits


def plan_workflow(workflow: Workflow, registry: Registry, pools: ResourcePools) -> ExecutionPlan:
    """Read ``workflow`` against the system's providers and pools; run nothing.

    Raises WorkflowDefinitionError (like a run would) when the definition is invalid.
    """
    plan = workflow.plan()
    level_of = _levels(plan.deps, plan.order)
    depth = max(level_of, default=-1) + 1
    levels: list[list[int]] = [[] for _ in range(depth)]
    for i in plan.order:
        levels[level_of[i]].append(i)
    needs = [_needs(step, registry) for step in plan.steps]
    sizes = dict(pools.sizes)
    problems = []
    for step, need in zip(plan.steps, needs, strict=True):
        for pool, amount in need.items():
            if pool in sizes and amount > sizes[pool]:
                problems.append(
                    f"step {step.name!r} needs {amount:g} of pool {pool!r}, which holds only "
                    f"{sizes[pool]:g}: it could never run; enlarge the pool or lower the need"
                )
    peak: dict[str, float] = {}
    serialised: dict[str, int] = {}
    for level in levels:
        demand = _sum(needs[i] for i in level)
        for pool, amount in demand.items():
            peak[pool] = max(peak.get(pool, 0.0), amount)
        for pool, count in _serialised([needs[i] for i in level], sizes).items():
            serialised[pool] = serialised.get(pool, 0) + count
    widest = max(range(depth), key=lambda k: (len(levels[k]), -k)) if depth else 0
    names = plan.names
    return ExecutionPlan(
        workflow=workflow.name,
        steps=len(plan.steps),
        levels=tuple(tuple(names[i] for i in level) for level in levels),
        critical_path=tuple(names[i] for i in _critical_path(plan.deps, plan.order)),
        widest_level=widest,
        peak_demand={k: v for k, v in peak.items() if not math.isclose(v, 0.0)},
        pool_sizes=sizes,
        serialised=serialised,
        problems=tuple(problems),
    )
