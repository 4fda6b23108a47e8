"""Workflows declared in the configuration (``[workflows.NAME]``), built into Workflow objects.

Building happens when the system starts, after the plugins are loaded, because a declared
workflow may name engines, capabilities, strategies and workflows that plugins provide.
Every problem found, in every declared workflow, is reported at once as
``file: workflows.NAME.steps.STEP.key: what is wrong (did you mean ...?)``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .._bridge.steps import capability_step, engine_step, parallel_step
from .._core.records import ProviderKind
from .._core.registry import Registry
from .._core.util import close_matches
from .._workflow import RetryPolicy, Step, Workflow, value
from .._workflow.kinds import Branch, compose_step, map_step, switch_step
from .._workflow.refs import input_ref, result_ref
from ..exceptions import ConfigProblem, WorkflowDefinitionError
from .compose import join_key, kind_of

__all__ = ["Declared", "Declaration", "build_workflows"]

KINDS = ("call", "engine", "capability", "parallel", "workflow", "map", "switch")
COMMON = ("args", "wait_for", "retry", "timeout", "where", "compensate", "undo", "description")
PER_KIND: Mapping[str, tuple[str, ...]] = {
    "call": ("blocking",),
    "engine": (),
    "capability": ("strategy", "providers", "fallbacks", "route_retries", "with_provider"),
    "parallel": ("providers", "aggregate", "quorum"),
    "workflow": (),
    "map": ("over", "concurrency", "item", "blocking", "keep_runs"),
    "switch": ("on", "branches", "default"),
}
WORKFLOW_KEYS = ("description", "inputs", "steps", "returns", "capabilities")
RETRY_KEYS = {"attempts": "max_attempts", "backoff": "backoff", "factor": "factor",
              "max_backoff": "max_backoff", "jitter": "jitter"}  # fmt: skip
REF_KEYS = ("input", "result", "value")


class Declared:
    """A workflow built from configuration, with its inputs' descriptions (their defaults
    are the workflow's own, ``workflow.defaults``)."""

    __slots__ = ("descriptions", "workflow")

    def __init__(self, workflow: Workflow, descriptions: Mapping[str, str] | None = None) -> None:
        self.workflow = workflow
        self.descriptions = dict(descriptions or {})


class _Builder:
    """Builds every declared workflow, collecting problems instead of stopping at one."""

    def __init__(
        self,
        tables: Mapping[str, Any],
        registry: Registry,
        strategies: Sequence[str],
        source: str,
        origin: Callable[[str], str] | None,
    ) -> None:
        self.tables = tables
        self.registry = registry
        self.strategies = tuple(strategies)
        self.source = source
        self.origin = origin
        self.problems: list[ConfigProblem] = []
        self.names: list[ConfigProblem] = []  # the problems a plugin's name would solve
        self.built: dict[str, Declared] = {}
        self._building: list[str] = []
        self._keys_seen: list[str] = []
        self._keys: set[str] = set()
        self._hints_left = 50

    def problem(self, key: str, message: str) -> None:
        file = self.origin(key) if self.origin else self.source
        self.problems.append(ConfigProblem(file, key, message))

    def _problem_keys(self) -> set[str]:
        # Kept up to date incrementally: a set rebuilt per lookup would make many
        # problems quadratic.
        for problem in self.problems[len(self._keys_seen) :]:
            self._keys_seen.append(problem.key)
            self._keys.add(problem.key)
        return self._keys

    # -- workflows ------------------------------------------------------------------------

    def workflow(self, name: str) -> Workflow | None:
        """The declared (or registered) workflow called ``name``, built on first use."""
        if name in self.built:
            return self.built[name].workflow
        if name in self._building:
            chain = " -> ".join([*self._building[self._building.index(name) :], name])
            self.problem(f"workflows.{name}", f"workflows nest each other in a loop: {chain}")
            return None
        if name not in self.tables:
            provider = self.registry.get(name)
            if provider is not None and provider.kind is ProviderKind.WORKFLOW:
                found: Workflow = provider.target
                return found
            return None
        self._building.append(name)
        try:
            declared = self._declare(name, self.tables[name])
        finally:
            self._building.pop()
        if declared is not None:
            self.built[name] = declared
            return declared.workflow
        return None

    def _declare(self, name: str, table: Any) -> Declared | None:
        key = f"workflows.{name}"
        if not isinstance(table, Mapping):
            self.problem(key, f"must be a table, not {kind_of(table)}")
            return None
        self._unknown(table, key, WORKFLOW_KEYS)
        inputs, defaults = self._inputs(table.get("inputs", []), f"{key}.inputs")
        caps = table.get("capabilities", {})
        if not isinstance(caps, Mapping) or not all(_is_count(v, 0) for v in caps.values()):
            why = "must be a table of capability = priority (a whole number >= 0)"
            self.problem(f"{key}.capabilities", why)
            caps = {}
        description = self.text(table, "description", key)
        try:
            wf = Workflow(
                name, inputs, description=description, capabilities=caps, defaults=defaults
            )
        except (TypeError, ValueError) as exc:
            self.problem(key, str(exc))
            return None
        steps = table.get("steps", {})
        if not isinstance(steps, Mapping) or not steps:
            self.problem(f"{key}.steps", "must be a table with at least one step")
            return None
        broken = set()  # steps whose own problems are reported: no "unknown step" for them
        for step_name, spec in steps.items():
            step = self._step(str(step_name), spec, f"{key}.steps.{_quote(str(step_name))}")
            if step is not None:
                wf.add(step)
            else:
                broken.add(str(step_name))
        self._returns(wf, table.get("returns"), f"{key}.returns")
        self._definition(wf, key, broken)
        return Declared(wf, _descriptions(table.get("inputs")))

    def _inputs(self, spec: Any, key: str) -> tuple[list[str], dict[str, Any]]:
        if isinstance(spec, list) and all(isinstance(i, str) and i for i in spec):
            return list(spec), {}
        if not isinstance(spec, Mapping):
            self.problem(key, "must be a list of names, or a table of name = { default = ... }")
            return [], {}
        defaults = {}
        for name, options in spec.items():
            if not isinstance(options, Mapping):
                self.problem(f"{key}.{_quote(str(name))}", "must be a table: {} when required, or "
                             "{ default = ..., description = \"...\" }")  # fmt: skip
                continue
            self._unknown(options, f"{key}.{_quote(str(name))}", ("default", "description"))
            if "default" in options:
                defaults[name] = options["default"]
        return list(spec), defaults

    def _returns(self, wf: Workflow, spec: Any, key: str) -> None:
        if spec is None:
            return
        try:
            if isinstance(spec, Mapping) and not _is_ref(spec):
                wf.returns({k: self._ret(v) for k, v in spec.items()})
            else:
                wf.returns(self._ret(spec))
        except TypeError as exc:
            self.problem(key, str(exc))

    def _ret(self, spec: Any) -> Any:
        return self.argument(spec, "") if isinstance(spec, Mapping) else spec

    def _definition(self, wf: Workflow, key: str, broken: set[str]) -> None:
        try:
            wf.validate()
        except WorkflowDefinitionError as exc:
            for p in exc.problems:
                if p.missing is not None and p.missing in broken:
                    continue  # the step is there, but could not be built: said already
                where = f"{key}.steps.{_quote(p.step)}" if p.step else key
                self.problem(where, p.message)

    # -- steps ----------------------------------------------------------------------------

    def _step(self, name: str, spec: Any, key: str) -> Step | None:
        if not isinstance(spec, Mapping):
            self.problem(key, f"must be a table, not {kind_of(spec)}")
            return None
        kinds = [k for k in KINDS if k in spec]
        if len(kinds) != 1:
            what = "none" if not kinds else " and ".join(kinds)
            self.problem(key, f"needs exactly one of {', '.join(KINDS)} (found {what})")
            return None
        kind = kinds[0]
        self._unknown(spec, key, (kind, *COMMON, *PER_KIND[kind]))
        options = self._options(spec, key)
        args = spec.get("args", {})
        if not isinstance(args, Mapping):
            self.problem(f"{key}.args", f"must be a table of name = value, not {kind_of(args)}")
            args = {}
        arguments = {
            str(k): self.argument(v, f"{key}.args.{_quote(str(k))}") for k, v in args.items()
        }
        try:
            return getattr(self, f"_{kind}")(name, spec, key, arguments, options)  # type: ignore[no-any-return]
        except (TypeError, ValueError) as exc:
            self.problem(key, str(exc))
            return None

    def _options(self, spec: Mapping[str, Any], key: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if "wait_for" in spec:
            wait = spec["wait_for"]
            if isinstance(wait, str) or (
                isinstance(wait, list) and all(isinstance(w, str) for w in wait)
            ):
                options["wait_for"] = wait
            else:
                self.problem(f"{key}.wait_for", "must be a step name or a list of step names")
        if "retry" in spec:
            options["retry"] = self._retry(spec["retry"], f"{key}.retry")
        if "timeout" in spec:
            t = spec["timeout"]
            if not _is_number(t) or t <= 0:
                why = "a finite number of seconds > 0"
                self.problem(f"{key}.timeout", f"must be {why}, not {kind_of(t)}")
            else:
                options["timeout"] = float(t)
        for hook in ("where", "compensate", "undo"):
            if hook in spec:
                options[hook] = self.callable(spec[hook], f"{key}.{hook}")
        if "description" in spec:
            options["description"] = self.text(spec, "description", key)
        return {k: v for k, v in options.items() if v is not None}

    def _retry(self, spec: Any, key: str) -> RetryPolicy | None:
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"attempts": spec}
        if not isinstance(spec, Mapping):
            self.problem(key, "must be a number of attempts or a table { attempts, backoff, ... }")
            return None
        self._unknown(spec, key, tuple(RETRY_KEYS))
        if "attempts" in spec and not _is_count(spec["attempts"], 1):
            given = kind_of(spec["attempts"])
            self.problem(f"{key}.attempts", f"must be a whole number >= 1, not {given}")
            return None
        for name in ("backoff", "factor", "max_backoff", "jitter"):
            if name in spec and not _is_number(spec[name]):
                given = kind_of(spec[name])
                self.problem(f"{key}.{name}", f"must be a finite number, not {given}")
                return None
        try:
            return RetryPolicy(**{RETRY_KEYS[k]: v for k, v in spec.items() if k in RETRY_KEYS})
        except (TypeError, ValueError) as exc:
            self.problem(key, str(exc))
            return None

    def _call(self, name: str, spec: Mapping[str, Any], key: str, arguments: dict[str, Any],
              options: dict[str, Any]) -> Step | None:  # fmt: skip
        fn = self.callable(spec["call"], f"{key}.call")
        if fn is None:
            return None
        if "blocking" in spec:
            options["blocking"] = self.blocking(spec["blocking"], f"{key}.blocking")
        return Step(name, fn, arguments=arguments, **options)

    def _engine(self, name: str, spec: Mapping[str, Any], key: str, arguments: dict[str, Any],
                options: dict[str, Any]) -> Step | None:  # fmt: skip
        target = spec["engine"]
        if not isinstance(target, str) or target not in self.registry:
            hint = self._hint(str(target), [p.name for p in self.registry.all()])
            self.unresolved(f"{key}.engine", f"no engine or provider is named {target!r}{hint}")
            return None
        return engine_step(name, target, arguments=arguments, **options)

    def _capability(self, name: str, spec: Mapping[str, Any], key: str,
                    arguments: dict[str, Any], options: dict[str, Any]) -> Step | None:  # fmt: skip
        cap = self._capability_name(spec["capability"], f"{key}.capability")
        strategy = spec.get("strategy")
        if strategy is not None and not isinstance(strategy, str):
            self.problem(f"{key}.strategy", f"must be a strategy name, not {kind_of(strategy)}")
            strategy = None
        elif strategy is not None and strategy not in self.strategies:
            hint = self._hint(str(strategy), self.strategies)
            self.unresolved(f"{key}.strategy", f"no routing strategy is named {strategy!r}{hint}")
        fallbacks = self._names(spec.get("fallbacks", []), f"{key}.fallbacks")
        for i, fb in enumerate(fallbacks):
            if fb not in self.registry and not self.registry.providers(fb):
                self.unresolved(f"{key}.fallbacks[{i}]",
                             f"{fb!r} is neither a provider nor a provided capability")  # fmt: skip
        providers = None
        if "providers" in spec:
            providers = self._names(spec["providers"], f"{key}.providers")
        route_retries = self.whole(spec, "route_retries", key, 0)
        with_provider = self.flag(spec, "with_provider", key, False)
        if cap is None:
            return None
        return capability_step(
            name, cap, strategy=strategy, fallbacks=fallbacks, providers=providers,
            route_retries=route_retries, arguments=arguments, with_provider=with_provider,
            **options,
        )  # fmt: skip

    def _parallel(self, name: str, spec: Mapping[str, Any], key: str,
                  arguments: dict[str, Any], options: dict[str, Any]) -> Step | None:  # fmt: skip
        cap = self._capability_name(spec["parallel"], f"{key}.parallel")
        if cap is None:
            return None
        providers = (
            self._names(spec["providers"], f"{key}.providers") if "providers" in spec else None
        )
        aggregate = spec.get("aggregate", "all")
        if not isinstance(aggregate, str):
            known = "all, first, quorum, consensus"
            self.problem(f"{key}.aggregate", f"must be one of {known}, not {kind_of(aggregate)}")
            return None
        quorum = self.whole(spec, "quorum", key, 1)
        return parallel_step(name, cap, providers=providers, aggregate=aggregate,
                             quorum=quorum, arguments=arguments, **options)  # fmt: skip

    def _workflow(self, name: str, spec: Mapping[str, Any], key: str,
                  arguments: dict[str, Any], options: dict[str, Any]) -> Step | None:  # fmt: skip
        nested = self._nested(spec["workflow"], f"{key}.workflow")
        if nested is None:
            return None
        return compose_step(name, nested, arguments=arguments, **options)

    def _map(self, name: str, spec: Mapping[str, Any], key: str, arguments: dict[str, Any],
             options: dict[str, Any]) -> Step | None:  # fmt: skip
        each = spec["map"]
        target: dict[str, Any] = {}
        if isinstance(each, Mapping) and set(each) == {"workflow"}:
            nested = self._nested(each["workflow"], f"{key}.map.workflow")
            target = {"workflow": nested} if nested is not None else {}
        else:
            fn = self.callable(each, f"{key}.map")
            target = {"fn": fn} if fn is not None else {}
        if "over" not in spec:
            self.problem(key, "a map step needs over = <a reference to a collection>")
            return None
        item = spec.get("item")
        if item is not None and not (isinstance(item, str) and item.isidentifier()):
            why = "the name of the input or keyword that gets each element"
            self.problem(f"{key}.item", f'must be {why}, e.g. "file", not {kind_of(item)}')
            return None
        concurrency = self.whole(spec, "concurrency", key, 1)
        keep_runs = self.flag(spec, "keep_runs", key, True)
        if "blocking" in spec:
            options["blocking"] = self.blocking(spec["blocking"], f"{key}.blocking")
        if not target:
            return None
        return map_step(name, over=self.argument(spec["over"], f"{key}.over"),
                        item=item, concurrency=concurrency, keep_runs=keep_runs,
                        arguments=arguments, **target, **options)  # fmt: skip

    def _switch(self, name: str, spec: Mapping[str, Any], key: str, arguments: dict[str, Any],
                options: dict[str, Any]) -> Step | None:  # fmt: skip
        branches_spec = spec.get("branches")
        if not isinstance(branches_spec, Mapping) or not branches_spec or "on" not in spec:
            self.problem(key, "a switch step needs on = <reference> and a branches table")
            return None
        branches = {
            k: self._branch(v, f"{key}.branches.{_quote(str(k))}") for k, v in branches_spec.items()
        }
        default = self._branch(spec["default"], f"{key}.default") if "default" in spec else None
        if any(b is None for b in branches.values()) or ("default" in spec and default is None):
            return None
        return switch_step(name, on=self.argument(spec["on"], f"{key}.on"),
                           branches=branches, default=default,  # type: ignore[arg-type]
                           arguments=arguments, **options)  # fmt: skip

    def _branch(self, spec: Any, key: str) -> Branch | None:
        if isinstance(spec, Mapping) and set(spec) == {"workflow"}:
            nested = self._nested(spec["workflow"], f"{key}.workflow")
            return Branch(workflow=nested) if nested is not None else None
        fn = self.callable(spec, key)
        return Branch(fn=fn) if fn is not None else None

    # -- values ---------------------------------------------------------------------------

    def argument(self, spec: Any, key: str) -> Any:
        """A configured value: a reference table, a literal, or lists/tables of them."""
        if isinstance(spec, Mapping):
            if _is_ref(spec):
                return self._reference(spec, key)
            return {k: self.argument(v, f"{key}.{_quote(str(k))}") for k, v in spec.items()}
        if isinstance(spec, list):
            return [self.argument(v, f"{key}[{i}]") for i, v in enumerate(spec)]
        return spec

    def _reference(self, spec: Mapping[str, Any], key: str) -> Any:
        if "value" in spec:
            return value(spec["value"])
        path = spec.get("path", [])
        if isinstance(path, str):
            # Only ASCII digits are an index: "²".isdigit() is true, yet int("²") fails.
            path = [int(p) if p.isascii() and p.isdigit() else p for p in path.split(".")]
        if not isinstance(path, list) or not all(_is_path_part(p) for p in path):
            self.problem(f"{key}.path", 'must be a list of keys and indexes, e.g. ["files", 0], '
                         f'or a dotted string such as "files.0", not {kind_of(path)}')  # fmt: skip
            path = []
        kind = "input" if "input" in spec else "result"
        target = spec[kind]
        if not isinstance(target, str) or not target:
            what = "an input" if kind == "input" else "a step"
            self.problem(f"{key}.{kind}", f"must be the name of {what}, not {kind_of(target)}")
            return None
        return input_ref(target, *path) if kind == "input" else result_ref(target, *path)

    def callable(self, spec: Any, key: str) -> Callable[..., Any] | None:
        """The function ``module:attribute`` names, or None after recording why not."""
        if not isinstance(spec, str) or ":" not in spec:
            self.problem(key, f"must name a function as 'module:attribute', not {spec!r}")
            return None
        module_name, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - any import failure is a config problem
            self.problem(key, f"cannot import {module_name!r}: {type(exc).__name__}: {exc}")
            return None
        for part in attr.split("."):
            found = getattr(obj, part, None)
            if found is None:
                names = [n for n in dir(obj) if not n.startswith("_")]
                self.problem(key, f"{module_name!r} has no {part!r}{self._hint(part, names)}")
                return None
            obj = found
        if not callable(obj):
            self.problem(key, f"{spec!r} is not callable")
            return None
        return obj  # type: ignore[no-any-return]

    def _capability_name(self, cap: Any, key: str) -> str | None:
        if not isinstance(cap, str):
            self.problem(key, f"must be a capability name, not {kind_of(cap)}")
            return None
        if not self.registry.providers(cap):
            hint = self._hint(cap, self.registry.capabilities())
            self.unresolved(key, f"no provider serves capability {cap!r}{hint}")
            return None
        return cap

    def _nested(self, name: Any, key: str) -> Workflow | None:
        if not isinstance(name, str):
            self.problem(key, f"must be a workflow name, not {kind_of(name)}")
            return None
        found = self.workflow(name)
        if found is None and f"workflows.{name}" not in self._problem_keys():
            known = [*self.tables, *(p.name for p in self.registry.of_kind(ProviderKind.WORKFLOW))]
            self.unresolved(key, f"no workflow is named {name!r}{self._hint(name, known)}")
        return found

    def _names(self, spec: Any, key: str) -> list[str]:
        if isinstance(spec, list) and all(isinstance(v, str) for v in spec):
            return list(spec)
        self.problem(key, f"must be a list of names, not {kind_of(spec)}")
        return []

    def flag(self, spec: Mapping[str, Any], name: str, key: str, default: bool) -> bool:
        """``spec[name]`` as a TOML boolean (a string such as "false" is refused)."""
        found = spec.get(name, default)
        if isinstance(found, bool):
            return found
        self.problem(f"{key}.{name}", f"must be true or false, not {kind_of(found)}")
        return default

    def whole(self, spec: Mapping[str, Any], name: str, key: str, least: int) -> int | None:
        """``spec[name]`` as an int >= ``least`` (not a bool, not a float), or None."""
        found = spec.get(name)
        if found is None or _is_count(found, least):
            return found
        self.problem(f"{key}.{name}", f"must be a whole number >= {least}, not {kind_of(found)}")
        return None

    def text(self, spec: Mapping[str, Any], name: str, key: str) -> str:
        found = spec.get(name, "")
        if isinstance(found, str):
            return found
        self.problem(f"{key}.{name}", f"must be a string, not {kind_of(found)}")
        return ""

    def blocking(self, found: Any, key: str) -> bool | str:
        if isinstance(found, bool) or found in ("thread", "process"):
            return found  # type: ignore[no-any-return]
        self.problem(key, f'must be true, false, "thread" or "process", not {kind_of(found)}')
        return False

    def unresolved(self, key: str, message: str) -> None:
        """A problem about a name that a plugin could have provided."""
        self.problem(key, message)
        self.names.append(self.problems[-1])

    def _unknown(self, table: Mapping[str, Any], key: str, known: Sequence[str]) -> None:
        for name in table:
            if name not in known:
                where = f"{key}.{_quote(str(name))}"
                self.problem(where, f"unknown key{self._hint(str(name), known)}")

    def _hint(self, name: str, known: Sequence[str]) -> str:
        # Each did-you-mean compares with every known name: only the first few problems
        # get one, so that thousands of unknown names stay linear.
        if self._hints_left <= 0:
            return ""
        self._hints_left -= 1
        close = close_matches(name, known)
        return f" (did you mean {close[0]!r}?)" if close else ""


def _descriptions(spec: Any) -> dict[str, str]:
    """``inputs.NAME.description`` of each input that has one (a string)."""
    if not isinstance(spec, Mapping):
        return {}
    return {
        str(name): options["description"]
        for name, options in spec.items()
        if isinstance(options, Mapping) and isinstance(options.get("description"), str)
    }


def _is_ref(spec: Mapping[str, Any]) -> bool:
    keys = set(spec)
    return keys in ({"input"}, {"value"}, {"result"}, {"result", "path"}, {"input", "path"})


def _quote(key: str) -> str:
    """``key`` as one segment of a key path, quoted as TOML would need."""
    return join_key([key])


def _is_count(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _is_number(value: object) -> bool:
    """A finite int or float, not a bool (NaN and the infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _is_path_part(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class Declaration(NamedTuple):
    """What :func:`build_workflows` built, every problem, and which of them are names
    (of engines, capabilities, strategies, workflows) that a plugin could have provided."""

    built: dict[str, Declared]
    problems: list[ConfigProblem]
    names: list[ConfigProblem]


def build_workflows(
    tables: Mapping[str, Any],
    registry: Registry,
    strategies: Sequence[str],
    *,
    source: str = "<config>",
    origin: Callable[[str], str] | None = None,
) -> Declaration:
    """Build every ``[workflows.NAME]`` table; return what was built and every problem."""
    builder = _Builder(tables, registry, strategies, source, origin)
    for name in tables:
        builder.workflow(str(name))
    return Declaration(builder.built, builder.problems, builder.names)
