"""Mermaid and DOT renderings of a workflow: nodes, edges, escaping."""

from __future__ import annotations

import pytest
from workflow_helpers import (
    RetryPolicy,
    Workflow,
    WorkflowDefinitionError,
    input,
    result,
    to_dot,
    to_mermaid,
)


def sample() -> Workflow:
    inner = Workflow("inner", inputs=["x"])
    inner.step("sq", lambda x: x * x, x=input("x"))
    inner.returns("sq")
    wf = Workflow("review", inputs=["path", "items"])
    wf.step("discover", lambda path: [path], path=input("path"), retry=RetryPolicy(), timeout=2)
    wf.step("parse", lambda files, path: files, files=result("discover"), path=input("path"))
    wf.step("notify", lambda: None, wait_for="parse", undo=lambda r: None)
    wf.map("each", inner, over=input("items"))
    wf.returns({"parsed": "parse", "each": "each"})
    return wf


def test_mermaid_shows_inputs_steps_kinds_edges_and_the_return() -> None:
    text = to_mermaid(sample())
    lines = text.splitlines()
    assert lines[:2] == ["%% workflow review", "flowchart TD"]
    assert '    i0[/"path"/]' in lines
    assert '    s0["discover<br/>function<br/>retry x3, timeout 2s"]' in lines
    assert '    s3["each<br/>map inner"]' in lines
    assert '    ret(["return"])' in lines
    assert '    i0 -->|"path"| s0' in lines
    assert '    s0 -->|"files"| s1' in lines
    assert "    s1 -.-> s2" in lines, "wait_for edges are dashed"
    assert '    i1 -->|"over"| s3' in lines
    assert "    s1 --> ret" in lines and "    s3 --> ret" in lines


def test_dot_shows_the_same_graph() -> None:
    text = to_dot(sample())
    assert text.startswith('digraph "review" {\n')
    assert '    i0 [label="path", shape=parallelogram];' in text
    assert '    s2 [label="notify\\nfunction\\nundo", shape=box];' in text
    assert '    s0 -> s1 [label="files"];' in text
    assert "    s1 -> s2 [style=dashed];" in text
    assert "    s1 -> ret;" in text
    assert text.rstrip().endswith("}")


def test_names_are_escaped_for_each_format() -> None:
    wf = Workflow("esc")
    wf.step('say "hi" <b> #1', lambda: None)
    wf.step("back\\slash", lambda: None)
    mermaid = to_mermaid(wf)
    assert 's0["say #quot;hi#quot; #lt;b#gt; #35;1<br/>function"]' in mermaid
    dot = to_dot(wf)
    assert 's0 [label="say \\"hi\\" <b> #1\\nfunction", shape=box];' in dot
    assert 's1 [label="back\\\\slash\\nfunction", shape=box];' in dot


def test_an_invalid_workflow_is_not_drawn() -> None:
    wf = Workflow("bad")
    wf.step("a", lambda x: x, x=result("missing"))
    with pytest.raises(WorkflowDefinitionError):
        to_mermaid(wf)
    with pytest.raises(WorkflowDefinitionError):
        to_dot(wf)
