"""The Workflow object: inputs, steps and a return, built by calls or by decorators."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, overload

from .._core.records import check_provider_name, freeze_capabilities
from .kinds import Branch, compose_step, map_step, switch_step
from .planner import Plan, build_plan
from .refs import InputRef, ResultRef, Value
from .step import Step

__all__ = ["Workflow"]

F = TypeVar("F", bound=Callable[..., Any])

# Keywords of step(), compose(), map() and switch() that configure the step; every other
# keyword is an argument. A function parameter with one of these names is passed through
# ``arguments={...}``.
_OPTIONS = frozenset(
    {"blocking", "compensate", "description", "retry", "timeout", "undo", "wait_for", "where"}
)


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate step options from arguments (``arguments=`` merges in explicitly)."""
    options = {k: kwargs.pop(k) for k in _OPTIONS & kwargs.keys()}
    explicit = kwargs.pop("arguments", None) or {}
    if not isinstance(explicit, Mapping):
        raise TypeError(
            f"arguments must be a mapping of name to reference or value, not {explicit!r}"
        )
    return options, {**explicit, **kwargs}


def _return_spec(spec: Any) -> Any:
    if isinstance(spec, str):
        return ResultRef(spec)
    if isinstance(spec, (ResultRef, InputRef, Value)):
        return spec
    if isinstance(spec, Mapping):
        return {key: _return_spec(item) for key, item in spec.items()}
    if isinstance(spec, (list, tuple)):
        return tuple(_return_spec(item) for item in spec)
    raise TypeError(
        "returns() takes a step name, a result()/input()/value() reference, or a mapping or "
        f"sequence of them, not {spec!r}"
    )


def _branch(target: Any) -> Branch:
    if isinstance(target, Workflow):
        return Branch(workflow=target)
    if callable(target):
        return Branch(fn=target)
    raise TypeError(f"a switch branch must be a Workflow or a callable, not {target!r}")


class Workflow:
    """A named DAG of steps with inputs and a return; build it by calls or decorators.

    ``Workflow("review", inputs=["path"])`` then ``wf.step("parse", parse, path=input("path"))``
    or ``@wf.step(path=input("path"))`` over a function (named after it), and
    ``wf.returns("parse")``. Steps may be added in any order; the definition is checked as a
    whole, every problem at once, by :meth:`validate` or the first run. ``capabilities``
    (capability -> priority) lets the router send requests for them to this workflow.
    ``defaults`` (input -> value) makes those inputs optional: a run, and a step that runs
    this workflow nested, may leave them out.
    """

    __slots__ = (
        "__weakref__",
        "_plan",
        "_returns",
        "_steps",
        "capabilities",
        "defaults",
        "description",
        "inputs",
        "name",
    )

    def __init__(
        self,
        name: str,
        inputs: Iterable[str] = (),
        *,
        description: str = "",
        capabilities: Mapping[str, int] | None = None,
        returns: Any = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = check_provider_name(name, "workflow")
        names = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        for item in names:
            if not isinstance(item, str) or not item.isidentifier():
                raise TypeError(f"workflow {name!r}: input names must be identifiers, not {item!r}")
        self.inputs: tuple[str, ...] = names
        if defaults is not None and not isinstance(defaults, Mapping):
            raise TypeError(
                f"workflow {name!r}: defaults must be a mapping of input name to value, "
                f"not {type(defaults).__name__}"
            )
        extra = [key for key in defaults or {} if key not in names]
        if extra:
            raise TypeError(
                f"workflow {name!r}: defaults for {extra}, which are not among its inputs "
                f"{list(names)}; add them to inputs or drop their defaults"
            )
        self.defaults: Mapping[str, Any] = MappingProxyType(dict(defaults or {}))
        self.description = description
        self.capabilities = freeze_capabilities(capabilities or {}, owner=f"workflow {name!r}")
        self._steps: list[Step] = []
        self._returns: Any = None
        self._plan: Plan | None = None
        if returns is not None:
            self.returns(returns)

    # -- building -------------------------------------------------------------------------

    @overload
    def step(self, name: str, fn: Callable[..., Any], /, **kwargs: Any) -> Step: ...

    @overload
    def step(self, fn: F, /) -> F: ...

    @overload
    def step(self, name: str | None = None, /, **kwargs: Any) -> Callable[[F], F]: ...

    def step(self, /, *args: Any, **kwargs: Any) -> Any:
        """Add a function step: ``step(name, fn, **arguments)``, or decorate a function.

        Keywords are the step's arguments (references or literals), except the options
        ``retry``, ``timeout``, ``compensate``, ``undo``, ``where``, ``blocking``,
        ``wait_for`` and ``description``. As a decorator (``@wf.step``, ``@wf.step(...)``
        or ``@wf.step("name", ...)``) it returns the function unchanged.
        """
        if len(args) == 2:
            name, fn = args
            return self.add(self._function_step(name, fn, kwargs))
        if len(args) == 1 and callable(args[0]) and not kwargs:
            fn = args[0]
            self.add(self._function_step(fn.__name__, fn, {}))
            return fn
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise TypeError("step() takes (name, fn, **arguments) or decorates a function")
        named = args[0] if args else None

        def decorate(fn: F) -> F:
            self.add(self._function_step(named or fn.__name__, fn, dict(kwargs)))
            return fn

        return decorate

    def _function_step(self, name: str, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Step:
        if not callable(fn):
            raise TypeError(f"step {name!r}: the step function must be callable, not {fn!r}")
        options, arguments = _split(kwargs)
        return Step(name, fn, arguments=arguments, **options)

    def compose(self, name: str, workflow: Workflow, /, **kwargs: Any) -> Step:
        """Add a step that runs ``workflow`` as a whole; keywords are its inputs and options."""
        if not isinstance(workflow, Workflow):
            raise TypeError(f"compose step {name!r}: expected a Workflow, not {workflow!r}")
        options, arguments = _split(kwargs)
        return self.add(compose_step(name, workflow, arguments=arguments, **options))

    @overload
    def map(self, name: str, each: Workflow | Callable[..., Any], /, **kwargs: Any) -> Step: ...

    @overload
    def map(self, name: str | None = None, /, **kwargs: Any) -> Callable[[F], F]: ...

    def map(self, /, *args: Any, **kwargs: Any) -> Any:
        """Add a step that runs a function or a workflow over each element of ``over=...``.

        ``map(name, each, over=ref, concurrency=n, item=None, **arguments)``; as a decorator
        ``@wf.map(over=ref)`` maps the decorated function. Results come in element order.
        """
        if "over" not in kwargs:
            raise TypeError("map() needs over=<a reference or a collection>")
        if len(args) == 2:
            return self.add(self._map_step(args[0], args[1], kwargs))
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise TypeError("map() takes (name, each, over=...) or decorates a function")
        named = args[0] if args else None

        def decorate(fn: F) -> F:
            self.add(self._map_step(named or fn.__name__, fn, dict(kwargs)))
            return fn

        return decorate

    def _map_step(self, name: str, each: Any, kwargs: dict[str, Any]) -> Step:
        over = kwargs.pop("over")
        item = kwargs.pop("item", None)
        concurrency = kwargs.pop("concurrency", None)
        keep_runs = kwargs.pop("keep_runs", True)
        options, arguments = _split(kwargs)
        if not isinstance(each, Workflow) and not callable(each):
            raise TypeError(
                f"map step {name!r}: each must be a Workflow or a callable, not {each!r}"
            )
        target: dict[str, Any] = {"workflow": each} if isinstance(each, Workflow) else {"fn": each}
        return map_step(
            name,
            over=over,
            item=item,
            concurrency=concurrency,
            keep_runs=keep_runs,
            arguments=arguments,
            **target,
            **options,
        )

    def switch(
        self,
        name: str,
        /,
        *,
        on: Any,
        branches: Mapping[Hashable, Workflow | Callable[..., Any]],
        default: Workflow | Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> Step:
        """Add a step that runs one of ``branches`` (workflows or functions), keyed by ``on``.

        ``on`` is a reference or literal whose value is the key, or a predicate over the
        step's arguments returning the key. Branches get the arguments they take.
        """
        options, arguments = _split(kwargs)
        return self.add(
            switch_step(
                name,
                on=on,
                branches={key: _branch(target) for key, target in branches.items()},
                default=_branch(default) if default is not None else None,
                arguments=arguments,
                **options,
            )
        )

    def add(self, step: Step) -> Step:
        """Add a step built elsewhere (any kind); return it."""
        if not isinstance(step, Step):
            raise TypeError(f"Workflow.add() takes a Step, not {step!r}")
        self._steps.append(step)
        self._plan = None
        return step

    def returns(self, spec: Any) -> Workflow:
        """Set what a run returns: a step name, a reference, or a mapping/sequence of them."""
        self._returns = _return_spec(spec)
        self._plan = None
        return self

    # -- reading --------------------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps, in the order they were added."""
        return tuple(self._steps)

    @property
    def return_spec(self) -> Any:
        """What :meth:`returns` was given, with step names turned into references."""
        return self._returns

    def plan(self) -> Plan:
        """The checked plan (cached until the workflow changes).

        Raises WorkflowDefinitionError (CycleError for cycles) listing every problem.
        """
        return self._planned(())

    def _planned(self, stack: tuple[Workflow, ...]) -> Plan:
        """Like :meth:`plan`, as part of checking the workflows in ``stack`` that nest it."""
        plan = self._plan
        if plan is None:
            plan = self._plan = build_plan(self, stack)
        return plan

    def validate(self) -> Workflow:
        """Check the definition now; return self, or raise listing every problem."""
        self.plan()
        return self

    def __getitem__(self, name: str) -> Step:
        for step in self._steps:
            if step.name == name:
                return step
        raise KeyError(f"workflow {self.name!r} has no step {name!r}")

    def __contains__(self, name: object) -> bool:
        return any(step.name == name for step in self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(tuple(self._steps))

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"<Workflow {self.name!r} inputs={list(self.inputs)} steps={len(self._steps)}>"
