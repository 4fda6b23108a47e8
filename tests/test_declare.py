"""Workflows declared in configuration: building, running, and every problem at once."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hybrid_core import ConfigError, Engine, Hybrid
from hybrid_core.testing import make_plugin

STEPS = """
def numbers(count):
    return list(range(count))

def square(item, offset=0):
    return item * item + offset

def total(values):
    return sum(values)

def label(n):
    return "big" if n > 10 else "small"

def shout(text):
    return text.upper()

def whisper(text):
    return text.lower()
"""


@pytest.fixture
def steps_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"decl_steps_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(STEPS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def system(config: dict[str, Any], *engines: Engine) -> Hybrid:
    plugin = make_plugin("engines", engines=list(engines)) if engines else None
    return Hybrid(config, plugins=[plugin] if plugin else [], entry_points=False)


def upper(payload: Any) -> str:
    return str(payload["text"]).upper()


def test_a_declared_workflow_runs_with_defaults_map_and_capabilities(steps_module: str) -> None:
    m = steps_module
    config = {"workflows": {
        "squares": {
            "inputs": {"count": {"default": 4}, "offset": {}},
            "steps": {
                "numbers": {"call": f"{m}:numbers", "args": {"count": {"input": "count"}}},
                "each": {"map": f"{m}:square", "over": {"result": "numbers"},
                         "args": {"offset": {"input": "offset"}}, "concurrency": 2},
                "sum": {"call": f"{m}:total", "args": {"values": {"result": "each"}}},
                "shout": {"capability": "text.upper", "args": {"text": {"value": "done"}}},
            },
            "returns": {"sum": "sum", "shout": "shout", "first": {"result": "each", "path": [0]}},
        },
    }}  # fmt: skip
    engine = Engine(name="up", capabilities={"text.upper": 1}, handler=upper)
    with system(config, engine) as s:
        result = s.run("squares", offset=1)
    assert result.unwrap() == {"sum": 0 + 1 + 4 + 9 + 4, "shout": "DONE", "first": 1}
    assert result.steps["shout"].provider == "up"


def test_compose_and_switch_between_declared_workflows(steps_module: str) -> None:
    m = steps_module
    config = {"workflows": {
        "loud": {"inputs": ["text"], "steps": {
            "s": {"call": f"{m}:shout", "args": {"text": {"input": "text"}}}}, "returns": "s"},
        "quiet": {"inputs": ["text"], "steps": {
            "s": {"call": f"{m}:whisper", "args": {"text": {"input": "text"}}}}, "returns": "s"},
        "main": {"inputs": ["n", "text"], "steps": {
            "size": {"call": f"{m}:label", "args": {"n": {"input": "n"}}},
            "pick": {"switch": {}, "on": {"result": "size"},
                     "branches": {"big": {"workflow": "loud"}, "small": {"workflow": "quiet"}},
                     "args": {"text": {"input": "text"}}},
            "again": {"workflow": "loud", "args": {"text": {"result": "pick"}}},
        }, "returns": "again"},
    }}  # fmt: skip
    with system(config) as s:
        assert s.run("main", n=50, text="Hi").unwrap() == "HI"
        assert s.run("main", n=1, text="Hi").unwrap() == "HI"
        assert s.run("main", n=1, text="Hi").steps["pick"].status.value == "succeeded"


def test_a_nested_declared_workflow_fills_the_inputs_a_step_leaves_out(steps_module: str) -> None:
    m = steps_module
    config = {"workflows": {
        "sq": {"inputs": {"item": {}, "offset": {"default": 100}},
               "steps": {"s": {"call": f"{m}:square",
                               "args": {"item": {"input": "item"}, "offset": {"input": "offset"}}}},
               "returns": "s"},
        "one": {"steps": {"n": {"workflow": "sq", "args": {"item": {"value": 3}}}},
                "returns": "n"},
        "each": {"steps": {"m": {"map": {"workflow": "sq"}, "over": {"value": [1, 2]}}},
                 "returns": "m"},
        "pick": {"inputs": {"kind": {"default": "a"}},
                 "steps": {"p": {"switch": {}, "on": {"input": "kind"},
                                 "branches": {"a": {"workflow": "sq"}},
                                 "args": {"item": {"value": 2}}}},
                 "returns": "p"},
    }}  # fmt: skip
    with system(config) as s:
        assert s.run("one").unwrap() == 109  # offset: sq's own default
        assert s.run("each").unwrap() == [101, 104]  # the element goes to the input with none
        assert s.run("pick").unwrap() == 104
        assert s.run("sq", item=2, offset=0).unwrap() == 4
        assert s.run("one").steps["n"].children[0].inputs == {"item": 3, "offset": 100}


def test_a_step_that_could_not_be_built_is_not_also_an_unknown_step(steps_module: str) -> None:
    m = steps_module
    config = {"workflows": {"w": {"returns": "pick", "steps": {
        "pick": {"switch": {"a": 1}},
        "after": {"call": f"{m}:total", "args": {"values": {"result": "pick"}},
                  "wait_for": ["pick"]},
        "other": {"call": f"{m}:total", "args": {"values": {"result": "nosuch"}}},
    }}}}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        system(config).start()
    messages = [str(p) for p in info.value.problems]
    assert any("a switch step needs on = <reference>" in m for m in messages), messages
    assert not any("unknown step 'pick'" in m for m in messages), messages
    assert any("unknown step 'nosuch'" in m for m in messages), messages  # a real one stays


def test_a_literal_that_looks_like_a_reference_is_written_with_value(steps_module: str) -> None:
    config = {"workflows": {"w": {"steps": {
        "s": {"call": "builtins:str", "args": {"object": {"value": {"input": "x"}}}}},
        "returns": "s"}}}  # fmt: skip
    with system(config) as s:
        assert s.run("w").unwrap() == "{'input': 'x'}"


def test_every_problem_is_reported_at_once_with_key_paths(steps_module: str) -> None:
    m = steps_module
    config = {
        "engines": {"upp": {"timeout": 2}},
        "workflows": {
            "bad": {
                "inputs": ["path"],
                "stepz": {},
                "steps": {
                    "a": {"call": f"{m}:nosuch"},
                    "b": {"capability": "text.uper", "strategy": "fastest"},
                    "c": {"engine": "uup"},
                    "d": {"call": f"{m}:total", "args": {"values": {"result": "e"}}, "timout": 3},
                    "e": {"call": f"{m}:total", "args": {"values": {"result": "d"}}},
                    "f": {"call": f"{m}:total", "engine": "up"},
                    "g": {"workflow": "missing"},
                    "h": {"call": f"{m}:total", "args": {"values": {"input": "pth"}}},
                },
                "returns": "zz",
            },
        },
    }
    engine = Engine(name="up", capabilities={"text.upper": 1}, handler=upper)
    with pytest.raises(ConfigError) as info:
        system(config, engine).start()
    text = str(info.value)
    expected = [
        "engines.upp: no installed plugin provides an engine named 'upp' (did you mean 'up'?)",
        "workflows.bad.stepz: unknown key (did you mean 'steps'?)",
        f"workflows.bad.steps.a.call: '{m}' has no 'nosuch'",
        "workflows.bad.steps.b.capability: no provider serves capability 'text.uper' "
        "(did you mean 'text.upper'?)",
        "workflows.bad.steps.b.strategy: no routing strategy is named 'fastest'",
        "workflows.bad.steps.c.engine: no engine or provider is named 'uup' (did you mean 'up'?)",
        "workflows.bad.steps.d.timout: unknown key (did you mean 'timeout'?)",
        "workflows.bad.steps.f: needs exactly one of",
        "workflows.bad.steps.g.workflow: no workflow is named 'missing'",
        "cycle",
        "'pth'",
        "'zz'",
    ]
    for fragment in expected:
        assert fragment in text, fragment


def test_engine_overrides_and_disabling() -> None:
    engines = [Engine(name="a", capabilities={"c.x": 1}, handler=upper, timeout=9),
               Engine(name="b", capabilities={"c.x": 5}, handler=upper)]  # fmt: skip
    config = {"engines": {"a": {"priority": 10, "max_concurrency": 2, "timeout": 1.5},
                          "b": {"enable": False}}}  # fmt: skip
    with system(config, *engines) as s:
        (only,) = s.providers("c.x")
    assert only.name == "a" and only.priority("c.x") == 10
    assert only.target.max_concurrency == 2 and only.target.timeout == 1.5


# -- strict types: each wrong value is one problem naming the key, the value and the fix ---


def _problems_of(step: dict[str, Any], *engines: Engine) -> list[str]:
    config = {"workflows": {"w": {"inputs": ["xs"], "steps": {"a": step}}}}
    with pytest.raises(ConfigError) as info:
        system(config, *engines).start()
    return [str(p) for p in info.value.problems]


UPPER = Engine(name="up", capabilities={"text.upper": 1}, handler=upper)


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"timeout": float("nan")}, "timeout", "finite number of seconds > 0, not a number (nan)"),
        ({"timeout": float("inf")}, "timeout", "finite number of seconds > 0, not a number (inf)"),
        ({"with_provider": "false"}, "with_provider", "true or false, not a string ('false')"),
        ({"route_retries": "x"}, "route_retries", "whole number >= 0, not a string ('x')"),
        ({"route_retries": True}, "route_retries", "whole number >= 0, not a boolean (True)"),
        ({"route_retries": 1.0}, "route_retries", "whole number >= 0, not a number (1.0)"),
        ({"description": 3}, "description", "must be a string, not an integer (3)"),
        ({"retry": {"attempts": 2, "backoff": float("nan")}}, "retry.backoff", "finite number"),
    ],
)
def test_capability_step_keys_take_their_exact_type(
    extra: dict[str, Any], key: str, says: str
) -> None:
    step = {"capability": "text.upper", "args": {"text": "x"}, **extra}
    (line,) = _problems_of(step, UPPER)
    assert f"workflows.w.steps.a.{key}: must be " in line and says in line, line


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"keep_runs": "no"}, "keep_runs", "true or false, not a string ('no')"),
        ({"concurrency": 0}, "concurrency", "whole number >= 1, not an integer (0)"),
        ({"item": {"a": 1}}, "item", "the name of the input or keyword"),
        ({"blocking": "yes"}, "blocking", 'true, false, "thread" or "process"'),
    ],
)
def test_map_step_keys_take_their_exact_type(extra: dict[str, Any], key: str, says: str) -> None:
    step = {"map": "json:dumps", "over": {"input": "xs"}, **extra}
    (line,) = _problems_of(step)
    assert f"workflows.w.steps.a.{key}: must be " in line and says in line, line


@pytest.mark.parametrize(
    ("ref", "key", "says"),
    [
        ({"input": ""}, "args.obj.input", "must be the name of an input, not a string ('')"),
        ({"result": ""}, "args.obj.result", "must be the name of a step, not a string ('')"),
        ({"input": 3}, "args.obj.input", "must be the name of an input, not an integer (3)"),
        ({"input": "xs", "path": [True]}, "args.obj.path", "must be a list of keys and indexes"),
    ],
)
def test_malformed_references_are_one_problem_each(
    ref: dict[str, Any], key: str, says: str
) -> None:
    (line,) = _problems_of({"call": "json:dumps", "args": {"obj": ref}})
    assert f"workflows.w.steps.a.{key}: {says}" in line, line


def test_a_dotted_path_with_a_non_ascii_digit_is_a_key_not_an_index() -> None:
    config = {"workflows": {"w": {"inputs": ["xs"], "steps": {
        "a": {"call": "json:dumps", "args": {"obj": {"input": "xs", "path": "a.²"}}},
    }}}}  # fmt: skip
    with system(config) as built:
        (step,) = built.workflow("w").steps
        (ref,) = [r for _, r in step.references()]
        assert ref.path == ("a", "²")


def test_an_unknown_step_strategy_in_a_workflow_names_the_key() -> None:
    step = {"capability": "text.upper", "args": {"text": "x"}, "strategy": "fastst"}
    (line,) = _problems_of(step, UPPER)
    assert "workflows.w.steps.a.strategy: no routing strategy is named 'fastst'" in line
