"""The planner: checks a workflow, builds its dependency graph, and schedules it.

:func:`build_plan` validates a definition and reports every problem at once. A
:class:`Plan` is immutable and shared by every run of the workflow; a :class:`Scheduler`
is one run's view of it, split like :mod:`graphlib`: the runner asks what is ready, and
says what is done. Everything is deterministic: ties go to the step defined first.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._core.util import close_matches
from ..exceptions import CycleError, DefinitionProblem, WorkflowDefinitionError
from .refs import ArgPlan, InputRef, ResultRef, compile_arguments, iter_refs, resolve

if TYPE_CHECKING:
    from .definition import Workflow
    from .step import Step

__all__ = ["Plan", "Scheduler", "build_plan"]

_NONE: tuple[int, ...] = ()
_RETURN = "return"
# A step already done before the run starts (resume) never becomes ready again.
_DONE = -(2**62)


class Plan:
    """A checked workflow: steps by index, dependency edges, compiled arguments.

    ``deps[i]`` are the steps step ``i`` waits for (through results or ``wait_for``),
    ``dependents[i]`` the steps that wait for it; ``order`` is a topological order.
    ``data_edges`` are ``(from, to, argument names)``, ``wait_edges`` ``(from, to)`` and
    ``input_edges`` ``(input, to, argument names)``; ``return_steps`` the steps the return
    reads. ``graph`` maps each step's name to the names of the steps it waits for (what
    ``run.start`` reports, so that a trace can draw the edges).
    """

    __slots__ = (
        "args",
        "data_edges",
        "dependents",
        "deps",
        "graph",
        "indegree",
        "index",
        "input_edges",
        "inputs",
        "names",
        "order",
        "prints",
        "return_steps",
        "returns",
        "steps",
        "wait_edges",
        "workflow",
    )

    def __init__(self, workflow: str, inputs: tuple[str, ...], steps: Sequence[Step]) -> None:
        self.workflow = workflow
        self.inputs = inputs
        self.steps: tuple[Step, ...] = tuple(steps)
        self.names = tuple(s.name for s in steps)
        self.index: dict[str, int] = {}
        for i, name in enumerate(self.names):
            self.index.setdefault(name, i)  # a duplicate is reported; the first one counts
        self.deps: tuple[tuple[int, ...], ...] = ()
        self.graph: Mapping[str, tuple[str, ...]] = MappingProxyType({})
        self.dependents: tuple[tuple[int, ...], ...] = ()
        self.indegree: tuple[int, ...] = ()
        self.order: tuple[int, ...] = ()
        self.args: tuple[ArgPlan, ...] = ()
        self.returns: ArgPlan | None = None
        self.return_steps: tuple[int, ...] = ()
        self.data_edges: list[tuple[int, int, tuple[str, ...]]] = []
        self.wait_edges: list[tuple[int, int]] = []
        self.input_edges: list[tuple[str, int, tuple[str, ...]]] = []
        self.prints: tuple[str, dict[str, str], str] | None = None  # durable.fingerprints

    def scheduler(self, done: Iterable[int] = ()) -> Scheduler:
        """A fresh scheduler for one run; ``done`` are steps completed before it (resume)."""
        return Scheduler(self, done)

    def evaluate_return(self, values: Sequence[Any], inputs: Mapping[str, Any]) -> Any:
        """The workflow's return value, given every step's result (None without a return)."""
        if self.returns is None:
            return None
        return resolve(self.returns, values, inputs)[_RETURN]

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<Plan {self.workflow!r} steps={len(self.steps)}>"


class Scheduler:
    """One run's readiness bookkeeping: ``get_ready()`` once, then ``done(i)`` per step.

    ``done`` returns the steps that became ready because ``i`` completed. A step that
    never completes (failed, skipped by a halt) simply keeps its dependents waiting.
    """

    __slots__ = ("_dependents", "_indegree", "_started")

    def __init__(self, plan: Plan, done: Iterable[int] = ()) -> None:
        self._dependents = plan.dependents
        indegree = list(plan.indegree)
        for i in done:
            indegree[i] = _DONE
            for j in plan.dependents[i]:
                indegree[j] -= 1
        self._indegree = indegree
        self._started = False

    def get_ready(self) -> list[int]:
        """The steps ready at the start, in definition order; call it once."""
        if self._started:
            raise RuntimeError("Scheduler.get_ready() was already called; use done() results")
        self._started = True
        return [i for i, n in enumerate(self._indegree) if n == 0]

    def done(self, i: int) -> Sequence[int]:
        """Mark step ``i`` completed; return the steps that are ready now because of it."""
        dependents = self._dependents[i]
        if not dependents:
            return _NONE
        indegree = self._indegree
        ready: list[int] | None = None
        for j in dependents:
            left = indegree[j] - 1
            indegree[j] = left
            if left == 0:
                if ready is None:
                    ready = [j]
                else:
                    ready.append(j)
        return ready if ready is not None else _NONE


# A did-you-mean compares one name with every known one; with thousands of steps and
# thousands of unknown names that is quadratic, so only the first few problems get one.
SUGGESTIONS_PER_WORKFLOW = 20


def _suggest(name: str, known: Iterable[str]) -> list[str]:
    return close_matches(name, dict.fromkeys(known), n=3)


def _hint(close: Sequence[str]) -> str:
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


class _Checker:
    """Collects the problems of one workflow while its graph is built."""

    def __init__(self, workflow: Workflow, stack: tuple[Workflow, ...]) -> None:
        self.workflow = workflow
        self.stack = stack
        self.problems: list[DefinitionProblem] = []
        self.plan = Plan(workflow.name, tuple(workflow.inputs), workflow.steps)
        self.deps: list[dict[int, None]] = [{} for _ in workflow.steps]
        self._suggestions_left = SUGGESTIONS_PER_WORKFLOW

    def suggest(self, name: str, known: Iterable[str]) -> list[str]:
        """Close matches for ``name``, for the first few unknown names only."""
        if self._suggestions_left <= 0:
            return []
        self._suggestions_left -= 1
        return _suggest(name, known)

    def add(self, kind: str, message: str, **extra: Any) -> None:
        self.problems.append(DefinitionProblem(kind, message, **extra))

    def check_names(self) -> None:
        seen: dict[str, int] = {}
        for name in self.plan.names:
            seen[name] = seen.get(name, 0) + 1
        for name, count in seen.items():
            if count > 1:
                self.add(
                    "duplicate_step",
                    f"step name {name!r} is used by {count} steps; step names must be unique",
                    step=name,
                )
        inputs: dict[str, int] = {}
        for name in self.workflow.inputs:
            inputs[name] = inputs.get(name, 0) + 1
        for name, count in inputs.items():
            if count > 1:
                self.add("duplicate_input", f"input {name!r} is declared {count} times")

    def check_step(self, i: int, step: Step) -> None:
        plan = self.plan
        data: dict[int, list[str]] = {}
        feeds: dict[str, list[str]] = {}
        for arg, ref in step.references():
            if isinstance(ref, ResultRef):
                j = plan.index.get(ref.step)
                if j is None:
                    close = self.suggest(ref.step, plan.names)
                    self.add(
                        "unknown_step",
                        f"step {step.name!r}: argument {arg!r} refers to unknown step "
                        f"{ref.step!r}{_hint(close)}",
                        step=step.name,
                        suggestions=close,
                        missing=ref.step,
                    )
                    continue
                self.deps[i][j] = None
                data.setdefault(j, []).append(arg)
            elif ref.name not in plan.inputs:
                close = self.suggest(ref.name, plan.inputs)
                self.add(
                    "unknown_input",
                    f"step {step.name!r}: argument {arg!r} refers to unknown input "
                    f"{ref.name!r}{_hint(close)}",
                    step=step.name,
                    suggestions=close,
                )
            else:
                feeds.setdefault(ref.name, []).append(arg)
        plan.data_edges += [(j, i, tuple(args)) for j, args in data.items()]
        plan.input_edges += [(name, i, tuple(args)) for name, args in feeds.items()]
        self.check_wait_for(i, step, set(data))
        for message in step.problems():
            self.add("invalid_step", message, step=step.name)
        for nested in step.nested:
            self.check_nested(step, nested)

    def check_wait_for(self, i: int, step: Step, fed_by: set[int]) -> None:
        for name in step.wait_for:
            j = self.plan.index.get(name)
            if j is None:
                close = self.suggest(name, self.plan.names)
                self.add(
                    "unknown_step",
                    f"step {step.name!r}: wait_for names unknown step {name!r}{_hint(close)}",
                    step=step.name,
                    suggestions=close,
                    missing=name,
                )
                continue
            self.deps[i][j] = None
            if j not in fed_by:
                self.plan.wait_edges.append((j, i))

    def check_nested(self, step: Step, nested: Workflow) -> None:
        chain = (*self.stack, self.workflow)
        if any(nested is w for w in chain):
            names = " -> ".join(w.name for w in (*chain, nested))
            self.add(
                "nested",
                f"step {step.name!r}: workflow {nested.name!r} contains itself ({names}); "
                "a workflow cannot run itself as a step",
                step=step.name,
            )
            return
        try:
            nested._planned(chain)
        except WorkflowDefinitionError as exc:
            for p in exc.problems:
                self.add(
                    "nested",
                    f"step {step.name!r}: in workflow {nested.name!r}: {p.message}",
                    step=step.name,
                    cycle=p.cycle,
                )

    def check_returns(self) -> None:
        spec = self.workflow.return_spec
        if spec is None:
            return
        steps: dict[int, None] = {}
        for ref in iter_refs(spec):
            if isinstance(ref, InputRef):
                if ref.name not in self.plan.inputs:
                    close = self.suggest(ref.name, self.plan.inputs)
                    self.add(
                        "unknown_return",
                        f"the return refers to unknown input {ref.name!r}{_hint(close)}",
                        suggestions=close,
                    )
            elif ref.step in self.plan.index:
                steps[self.plan.index[ref.step]] = None
            else:
                close = self.suggest(ref.step, self.plan.names)
                self.add(
                    "unknown_return",
                    f"the return names unknown step {ref.step!r}{_hint(close)}",
                    suggestions=close,
                    missing=ref.step,
                )
        self.plan.return_steps = tuple(steps)

    def check_cycles(self) -> None:
        names = self.plan.names
        for cycle in _find_cycles([tuple(d) for d in self.deps]):
            shown = [names[i] for i in cycle]
            self.add(
                "cycle",
                f"dependency cycle: {' -> '.join(shown)} (each step needs the result of the "
                "one before it, so none can start)",
                step=shown[0],
                cycle=shown,
            )


def _find_cycles(deps: Sequence[Sequence[int]]) -> list[list[int]]:
    """Every distinct cycle met by a depth-first walk, in data-flow order, first repeated last."""
    white, gray, black = 0, 1, 2
    color = [white] * len(deps)
    found: dict[tuple[int, ...], None] = {}
    for root in range(len(deps)):
        if color[root] != white:
            continue
        color[root] = gray
        path = [root]
        stack = [iter(deps[root])]
        while stack:
            for nxt in stack[-1]:
                if color[nxt] == gray:
                    # path[k] needs path[k + 1]: reverse for data flow, rotate to a fixed start.
                    ring = path[path.index(nxt) :][::-1]
                    start = ring.index(min(ring))
                    found[tuple(ring[start:] + ring[:start])] = None
                elif color[nxt] == white:
                    color[nxt] = gray
                    path.append(nxt)
                    stack.append(iter(deps[nxt]))
                    break
            else:
                color[path.pop()] = black
                stack.pop()
    return [[*ring, ring[0]] for ring in found]


def _topological(deps: Sequence[Sequence[int]], dependents: Sequence[Sequence[int]]) -> list[int]:
    indegree = [len(d) for d in deps]
    heap = [i for i, n in enumerate(indegree) if n == 0]
    order = []
    while heap:
        i = heapq.heappop(heap)
        order.append(i)
        for j in dependents[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(heap, j)
    return order


def build_plan(workflow: Workflow, stack: tuple[Workflow, ...] = ()) -> Plan:
    """Check ``workflow`` and build its plan; raise with every problem found.

    Raises CycleError when a problem is a dependency cycle, else WorkflowDefinitionError.
    ``stack`` holds the workflows that (transitively) run this one as a step.
    """
    checker = _Checker(workflow, stack)
    checker.check_names()
    plan = checker.plan
    for i, step in enumerate(plan.steps):
        checker.check_step(i, step)
    checker.check_returns()
    checker.check_cycles()
    problems = checker.problems
    if problems:
        error = CycleError if any(p.kind == "cycle" for p in problems) else WorkflowDefinitionError
        raise error(workflow.name, problems)
    deps = tuple(tuple(d) for d in checker.deps)
    dependents: list[list[int]] = [[] for _ in deps]
    for i, needs in enumerate(deps):
        for j in needs:
            dependents[j].append(i)
    plan.deps = deps
    names = plan.names
    plan.graph = MappingProxyType(
        {names[i]: tuple(names[j] for j in d) for i, d in enumerate(deps)}
    )
    plan.dependents = tuple(tuple(d) for d in dependents)
    plan.indegree = tuple(len(d) for d in deps)
    plan.order = tuple(_topological(deps, plan.dependents))
    plan.args = tuple(compile_arguments(s.arguments, plan.index) for s in plan.steps)
    if workflow.return_spec is not None:
        plan.returns = compile_arguments({_RETURN: workflow.return_spec}, plan.index)
    return plan
