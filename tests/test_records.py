"""Engine records check their fields when built, and say what is wrong."""

from __future__ import annotations

import pytest

from hybrid_core import CapabilityNameError, Engine


def upper(payload: str) -> str:
    return payload.upper()


def with_context(payload: str, context: object) -> str:
    return payload


def test_engine_keeps_the_documented_keywords() -> None:
    engine = Engine(name="acme.upper", capabilities={"text.upper": 10}, handler=upper)
    assert engine.name == "acme.upper"
    assert dict(engine.capabilities) == {"text.upper": 10}
    assert engine.handler is upper
    assert engine.version is None and engine.max_concurrency is None and not engine.blocking


def test_capabilities_are_frozen_copies() -> None:
    caps = {"text.upper": 1}
    engine = Engine(name="e", capabilities=caps, handler=upper)
    caps["text.lower"] = 2
    assert list(engine.capabilities) == ["text.upper"]
    with pytest.raises(TypeError):
        engine.capabilities["x"] = 1  # type: ignore[index]


def test_handler_arity_decides_whether_context_is_passed() -> None:
    assert not Engine(name="a", capabilities={"c": 1}, handler=upper).accepts_context
    assert Engine(name="b", capabilities={"c": 1}, handler=with_context).accepts_context
    assert not Engine(name="c", capabilities={"c": 1}, handler=str.upper).accepts_context


def test_no_capabilities_is_rejected_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"engine 'e' serves no capability; give capabilities="):
        Engine(name="e", capabilities={}, handler=upper)


@pytest.mark.parametrize("bad", ["", "1abc", "a..b", "a.b-c", "has space", ".lead", "trail."])
def test_bad_capability_name_names_the_engine(bad: str) -> None:
    with pytest.raises(CapabilityNameError, match=r"from engine 'e'") as info:
        Engine(name="e", capabilities={bad: 1}, handler=upper)
    assert info.value.name == bad


def test_negative_priority_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"priority of capability 'c' is -1; priorities are 0"):
        Engine(name="e", capabilities={"c": -1}, handler=upper)


@pytest.mark.parametrize("bad", [1.5, "10", True, None])
def test_non_int_priority_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match=r"priority of capability 'c' must be an int"):
        Engine(name="e", capabilities={"c": bad}, handler=upper)  # type: ignore[dict-item]


def test_non_callable_handler_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"engine 'e': handler must be callable, not 42"):
        Engine(name="e", capabilities={"c": 1}, handler=42)  # type: ignore[arg-type]


def test_capabilities_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"capabilities must be a mapping .* not list"):
        Engine(name="e", capabilities=["c"], handler=upper)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_concurrency", 0, "max_concurrency must be an int >= 1"),
        ("timeout", -1, "timeout must be a number of seconds > 0"),
        ("resources", {"cpu": -1}, "resource 'cpu' must be finite and >= 0"),
        ("start", "later", "start must be callable or None"),
        ("name", "bad name", "engine name 'bad name' is not valid"),
        ("version", 2, "version must be a string or None, not 2"),
    ],
)
def test_other_fields_are_checked(field: str, value: object, message: str) -> None:
    kwargs: dict[str, object] = {"name": "e", "capabilities": {"c": 1}, "handler": upper}
    kwargs[field] = value
    with pytest.raises((TypeError, ValueError), match=message):
        Engine(**kwargs)  # type: ignore[arg-type]


def _kwonly(payload: str, *, context: object) -> str:
    return payload


def _optional(payload: str, options: object = None) -> str:
    return payload


def test_context_is_given_only_to_handlers_that_ask_for_it() -> None:
    def mode(fn: object) -> str:
        return Engine(name="m", capabilities={"c": 1}, handler=fn).context_mode  # type: ignore[arg-type]

    assert mode(_kwonly) == "keyword"
    assert mode(with_context) == "positional"
    assert mode(_optional) == "none"
    assert mode(upper) == "none"


def test_engines_pickle_and_hash_by_identity() -> None:
    import pickle

    engine = Engine(name="p", capabilities={"c": 1}, handler=upper, metadata={"k": [1]},
                    resources={"cpu": 1})
    copy = pickle.loads(pickle.dumps(engine))
    assert copy.name == "p" and dict(copy.capabilities) == {"c": 1}
    assert copy.metadata == {"k": [1]} and copy.context_mode == "none"
    assert engine != copy and engine in {engine}


def test_process_engines_cannot_take_the_context() -> None:
    with pytest.raises(ValueError, match="cannot take the context"):
        Engine(name="p", capabilities={"c": 1}, handler=with_context, process=True)
    engine = Engine(name="p", capabilities={"c": 1}, handler=upper, process=True)
    assert engine.blocking and engine.process
