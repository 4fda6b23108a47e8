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
