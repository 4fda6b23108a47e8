"""References that tie a step's arguments to the workflow's inputs and to other steps' results.

An argument is an :class:`InputRef` (``input(name)``), a :class:`ResultRef`
(``result(step)``, optionally with a path into the result), a :class:`Value` (``value(x)``,
a literal that is taken as is), or any other object, which is a literal. References may
also sit inside lists, tuples and dicts; those containers are rebuilt with the values.
Arguments are compiled once per workflow into an :data:`ArgPlan`, so a run resolves them
with a few list and dict lookups.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any, Final

__all__ = [
    "SKIPPED",
    "ArgPlan",
    "InputRef",
    "ResultRef",
    "Value",
    "compile_arguments",
    "follow",
    "input_ref",
    "iter_refs",
    "resolve",
    "result_ref",
    "value",
]

PathKey = Hashable


class _Skipped:
    """The type of :data:`SKIPPED`; there is one instance."""

    __slots__ = ()
    _instance: _Skipped | None = None

    def __new__(cls) -> _Skipped:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIPPED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Unpickles as the module-level singleton, so ``is SKIPPED`` survives a process hop.
        return "SKIPPED"


SKIPPED: Final = _Skipped()
"""The result of a step that did not run (its ``where`` was false); falsy."""


class InputRef:
    """A reference to a workflow input, optionally with a path into its value."""

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: tuple[PathKey, ...] = ()) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"input(): the input name must be a non-empty string, not {name!r}")
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"input({', '.join(map(repr, (self.name, *self.path)))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InputRef) and (self.name, self.path) == (other.name, other.path)

    def __hash__(self) -> int:
        return hash(("input", self.name, self.path))


class ResultRef:
    """A reference to another step's result, optionally with a path into it."""

    __slots__ = ("path", "step")

    def __init__(self, step: str, path: tuple[PathKey, ...] = ()) -> None:
        if not isinstance(step, str) or not step:
            raise TypeError(f"result(): the step name must be a non-empty string, not {step!r}")
        self.step = step
        self.path = path

    def __repr__(self) -> str:
        return f"result({', '.join(map(repr, (self.step, *self.path)))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResultRef) and (self.step, self.path) == (other.step, other.path)

    def __hash__(self) -> int:
        return hash(("result", self.step, self.path))


class Value:
    """A literal argument, taken as is even when it looks like a reference or a container."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"value({self.value!r})"


def input_ref(name: str, *path: PathKey) -> InputRef:
    """Refer to the workflow input ``name``; ``path`` keys or indexes into its value."""
    return InputRef(name, path)


def result_ref(step: str, *path: PathKey) -> ResultRef:
    """Refer to the result of ``step``; ``path`` keys or indexes into it.

    ``result("discover", "files", 0)`` is ``discover_result["files"][0]``; a key that is a
    string falls back to an attribute when the object has no item of that name.
    """
    return ResultRef(step, path)


def value(obj: Any) -> Value:
    """Pass ``obj`` as a literal argument, even if it is (or holds) a reference."""
    return Value(obj)


def follow(obj: Any, path: Sequence[PathKey], ref: object) -> Any:
    """Walk ``path`` into ``obj``; raise LookupError naming ``ref`` when a key is missing.

    A SKIPPED value stays SKIPPED whatever the path.
    """
    for key in path:
        if obj is SKIPPED:
            return SKIPPED
        try:
            obj = obj[key]
            continue
        except (KeyError, IndexError, TypeError):
            if isinstance(key, str) and hasattr(obj, key):
                obj = getattr(obj, key)
                continue
        raise LookupError(
            f"{ref!r}: no key, index or attribute {key!r} in a {type(obj).__name__} "
            f"({_preview(obj)})"
        )
    return obj


def _preview(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


# A compiled argument: (tag, payload). Tags are small ints compared on every run.
# _RESULTS is a list or tuple of plain result references (a fan-in), rebuilt in one pass.
_LITERAL, _RESULT, _INPUT, _TEMPLATE, _RESULTS = 0, 1, 2, 3, 4
Compiled = tuple[int, Any]

# An argument plan: literal keyword arguments (copied per call), whole results as
# (name, step index) (the common case, taken first), other references as
# (name, from_result, key, path, ref) and containers holding references as (name, compiled).
ArgPlan = tuple[
    dict[str, Any] | None,
    tuple[tuple[str, int], ...],
    tuple[tuple[str, bool, Any, tuple[PathKey, ...], object], ...],
    tuple[tuple[str, Compiled], ...],
]


def iter_refs(spec: Any) -> Iterator[InputRef | ResultRef]:
    """Yield every reference in an argument, looking inside lists, tuples and dicts."""
    if isinstance(spec, (InputRef, ResultRef)):
        yield spec
    elif isinstance(spec, (list, tuple)):
        for item in spec:
            yield from iter_refs(item)
    elif isinstance(spec, dict):
        for item in spec.values():
            yield from iter_refs(item)


def _compile(spec: Any, index: Mapping[str, int]) -> Compiled:
    if isinstance(spec, Value):
        return (_LITERAL, spec.value)
    if isinstance(spec, ResultRef):
        return (_RESULT, (index[spec.step], spec.path, spec))
    if isinstance(spec, InputRef):
        return (_INPUT, (spec.name, spec.path, spec))
    if isinstance(spec, (list, tuple)) and any(True for _ in iter_refs(spec)):
        items = tuple(_compile(item, index) for item in spec)
        if all(tag == _RESULT and not payload[1] for tag, payload in items):
            return (_RESULTS, (type(spec), tuple(payload[0] for _, payload in items)))
        return (_TEMPLATE, (type(spec), items))
    if isinstance(spec, dict) and any(True for _ in iter_refs(spec)):
        items = tuple((k, _compile(v, index)) for k, v in spec.items())
        return (_TEMPLATE, (dict, items))
    return (_LITERAL, spec)


def _render(compiled: Compiled, values: Sequence[Any], inputs: Mapping[str, Any]) -> Any:
    tag, payload = compiled
    if tag == _LITERAL:
        return payload
    if tag == _RESULT:
        key, path, ref = payload
        return follow(values[key], path, ref) if path else values[key]
    if tag == _INPUT:
        key, path, ref = payload
        return follow(inputs[key], path, ref) if path else inputs[key]
    kind, items = payload
    if tag == _RESULTS:
        picked = [values[key] for key in items]
        return picked if kind is list else kind(picked)
    if kind is dict:
        return {k: _render(v, values, inputs) for k, v in items}
    rendered = [_render(item, values, inputs) for item in items]
    return rendered if kind is list else kind(rendered)


def compile_arguments(arguments: Mapping[str, Any], index: Mapping[str, int]) -> ArgPlan:
    """Compile a step's arguments against the step index (every reference must be known)."""
    literals: dict[str, Any] = {}
    whole: list[tuple[str, int]] = []
    refs: list[tuple[str, bool, Any, tuple[PathKey, ...], object]] = []
    templates: list[tuple[str, Compiled]] = []
    for name, spec in arguments.items():
        tag, payload = _compile(spec, index)
        if tag == _LITERAL:
            literals[name] = payload
        elif tag in (_TEMPLATE, _RESULTS):
            templates.append((name, (tag, payload)))
        else:
            key, path, ref = payload
            if tag == _RESULT and not path:
                whole.append((name, key))
            else:
                refs.append((name, tag == _RESULT, key, path, ref))
    return (literals or None, tuple(whole), tuple(refs), tuple(templates))


def resolve(plan: ArgPlan, values: Sequence[Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Build a step's keyword arguments from the results so far and the run's inputs."""
    literals, whole, refs, templates = plan
    kwargs = literals.copy() if literals is not None else {}
    for name, key in whole:
        kwargs[name] = values[key]
    if refs:  # a test of an empty tuple costs less than a loop over it
        for name, from_result, key, path, ref in refs:
            obj = values[key] if from_result else inputs[key]
            kwargs[name] = follow(obj, path, ref) if path else obj
    if templates:
        for name, compiled in templates:
            kwargs[name] = _render(compiled, values, inputs)
    return kwargs
