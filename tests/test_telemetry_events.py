"""The documented list of event names: complete, documented, and what is really emitted."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest

import hybrid_core as hc
from hybrid_core import Engine, Hybrid, InMemorySink, RoutingPolicy, Workflow
from hybrid_core._telemetry.names import EVENTS, EVENTS_VERSION, EventSpec
from hybrid_core.testing import make_plugin

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "hybrid_core"
DOC = ROOT / "docs" / "telemetry.md"
# A string literal shaped like one of our event names (families of the documented list).
EVENT_LIKE = re.compile(r"^(run|step|route|engine\.call|resource|plugin)\.[a-z_]+$")
EVENT_FIELDS = {"step", "provider", "duration"}


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def emit_calls() -> list[tuple[Path, ast.Call]]:
    found = []
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "emit"
            ):
                found.append((path, node))
    return found


def test_every_event_name_in_the_source_is_listed() -> None:
    seen: dict[str, Path] = {}
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and EVENT_LIKE.match(value):
                seen.setdefault(value, path)
    assert seen, "the scan found no event names at all; is the pattern still right?"
    missing = {
        name: str(path.relative_to(ROOT)) for name, path in seen.items() if name not in EVENTS
    }
    assert not missing, f"emitted but not in EVENTS: {missing}"


def test_every_literal_emit_call_uses_documented_attributes() -> None:
    calls = [
        (p, c, c.args[0].value)
        for p, c in emit_calls()
        if c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)
    ]
    assert len(calls) >= 8, "expected the router, runner and system to emit events"
    for path, call, name in calls:
        assert name in EVENTS, f"{path}: emits unknown event {name!r}"
        spec = EVENTS[name]
        for keyword in call.keywords:
            if keyword.arg is None:  # **spread: checked by the emission test below
                continue
            allowed = set(spec.attributes) | (
                set(spec.fields) if keyword.arg in EVENT_FIELDS else set()
            )
            assert keyword.arg in allowed, f"{path}:{call.lineno}: {name} sets {keyword.arg!r}"


def test_every_listed_event_is_emitted_somewhere() -> None:
    text = "\n".join(p.read_text() for p in source_files() if "_telemetry" not in p.parts)
    for name in EVENTS:
        assert f'"{name}"' in text, f"{name} is listed but nothing emits it"


def doc_sections() -> dict[str, str]:
    """Event name -> the text of its section (up to the next heading)."""
    parts = re.split(r"^(#{1,3} .*)$", DOC.read_text(), flags=re.MULTILINE)
    sections = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        found = re.fullmatch(r"### `([a-z_]+\.[a-z_.]+)`", heading.strip())
        if found:
            sections[found.group(1)] = body
    return sections


def test_every_event_and_attribute_is_documented() -> None:
    sections = doc_sections()
    assert set(sections) == set(EVENTS), "docs/telemetry.md and EVENTS list different events"
    for name, spec in EVENTS.items():
        for key in spec.attributes:
            assert f"`{key}`" in sections[name], f"docs/telemetry.md: {name} lacks {key!r}"
        for field in spec.fields:
            assert f"`{field}`" in sections[name], f"docs/telemetry.md: {name} lacks {field!r}"
    assert f"version {EVENTS_VERSION}" in DOC.read_text()


def test_specs_are_immutable_records() -> None:
    spec = EVENTS["route.decision"]
    assert isinstance(spec, EventSpec) and "reason" in spec.attributes
    with pytest.raises(TypeError):
        spec.attributes["new"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        EVENTS["x.y"] = spec  # type: ignore[index]


async def test_what_a_real_run_emits_matches_the_list() -> None:
    """A workflow with routed, composed, retried, skipped, compensated and undone steps."""
    attempts: list[int] = []

    def flaky(payload: object) -> object:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return payload

    engines = [
        Engine(name="upper", capabilities={"text.upper": 5}, handler=lambda p: str(p).upper()),
        Engine(name="flaky", capabilities={"text.flaky": 5}, handler=flaky, resources={"cpu": 1}),
        Engine(name="backup", capabilities={"text.flaky": 1}, handler=lambda p: p),
    ]
    sub = Workflow("sub", inputs=["x"])
    sub.step("twice", lambda x: x * 2, x=hc.input("x"))
    sub.returns("twice")
    wf = Workflow("everything", inputs=["text"])
    wf.add(hc.capability_step("loud", "text.upper", payload=hc.input("text")))
    wf.add(hc.capability_step("retried", "text.flaky", payload=hc.result("loud")))
    wf.compose("nested", sub, x=hc.result("loud"))
    wf.map("mapped", sub, over=[1, 2], item="x")
    wf.step("never", lambda t: t, t=hc.input("text"), where=lambda t: False)
    wf.step("undoable", lambda t: t, t=hc.result("nested"), undo=lambda r: None)
    wf.step(
        "doomed",
        _fail,
        t=hc.result("undoable"),
        retry=hc.RetryPolicy(max_attempts=2, backoff=0.0),
        compensate=lambda e: None,
    )
    sink = InMemorySink()
    system = Hybrid(
        plugins=[make_plugin("p", engines=engines)],
        entry_points=False,
        sinks=[sink],
        routing=RoutingPolicy(backoff=0.0),
        resources={"cpu": 1},
    )
    async with system:
        result = await system.arun(wf, text="hi")
    assert result.status.value == "failed"
    names = {e.name for e in sink.events}
    expected = set(EVENTS) - {"plugin.load_failed"}
    assert names >= expected - {"resource.wait"}, expected - names
    for event in sink.events:
        spec = EVENTS[event.name]
        assert set(event.attributes) <= set(spec.attributes), (event.name, event.attributes)
        for field in EVENT_FIELDS - set(spec.fields):
            assert getattr(event, field) is None, (event.name, field)
        assert event.trace_id == result.trace_id
    await asyncio.sleep(0)


def _fail(t: object) -> object:
    raise ValueError("always")
