"""Render a workflow as a Mermaid flowchart or a Graphviz DOT digraph.

Inputs are parallelograms, steps are boxes labelled with their name and kind (and their
policies), the return is a rounded node. A solid edge carries data and is labelled with
the argument names; a dashed edge is ordering only (``wait_for``). Node ids are generated
(``i0``, ``s0``, ``ret``), so any step name renders; labels are escaped for each format.
The workflow is validated first: an invalid one raises WorkflowDefinitionError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._workflow.refs import InputRef, iter_refs

if TYPE_CHECKING:
    from .._workflow import Step, Workflow

__all__ = ["to_dot", "to_mermaid"]

# (source id, target id, label, dashed)
_Edge = tuple[str, str, str, bool]


def _describe(step: Step) -> list[str]:
    """The lines of a step's label: its name, its kind, then its policies."""
    tags = []
    if step.retry.max_attempts > 1:
        tags.append(f"retry x{step.retry.max_attempts}")
    if step.timeout is not None:
        tags.append(f"timeout {step.timeout:g}s")
    if step.where is not None:
        tags.append("where")
    if step.compensate is not None:
        tags.append("compensate")
    if step.undo is not None:
        tags.append("undo")
    if step.blocking:
        tags.append(f"blocking ({step.pool})")
    lines = [step.name, step.label or step.kind]
    if tags:
        lines.append(", ".join(tags))
    return lines


def _graph(workflow: Workflow) -> tuple[list[tuple[str, str, list[str]]], list[_Edge]]:
    """Nodes as (id, shape, label lines) and edges, in a deterministic order."""
    plan = workflow.plan()
    inputs = {name: f"i{k}" for k, name in enumerate(workflow.inputs)}
    nodes = [(node, "input", [name]) for name, node in inputs.items()]
    nodes += [(f"s{i}", "step", _describe(step)) for i, step in enumerate(plan.steps)]
    edges: list[_Edge] = [
        (inputs[name], f"s{i}", ", ".join(args), False) for name, i, args in plan.input_edges
    ]
    edges += [(f"s{j}", f"s{i}", ", ".join(args), False) for j, i, args in plan.data_edges]
    edges += [(f"s{j}", f"s{i}", "", True) for j, i in plan.wait_edges]
    if workflow.return_spec is not None:
        nodes.append(("ret", "return", ["return"]))
        edges += [(f"s{i}", "ret", "", False) for i in plan.return_steps]
        fed = dict.fromkeys(
            ref.name for ref in iter_refs(workflow.return_spec) if isinstance(ref, InputRef)
        )
        edges += [(inputs[name], "ret", "", False) for name in fed]
    return nodes, edges


def _mermaid_text(text: str) -> str:
    # Mermaid reads entity codes inside quoted labels; '#' first, as the codes use it.
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def to_mermaid(workflow: Workflow) -> str:
    """The workflow as a Mermaid ``flowchart TD`` (paste it into Markdown or mermaid.live)."""
    shapes: dict[str, Callable[[str], str]] = {
        "input": lambda label: f'[/"{label}"/]',
        "step": lambda label: f'["{label}"]',
        "return": lambda label: f'(["{label}"])',
    }
    nodes, edges = _graph(workflow)
    out = [f"%% workflow {_mermaid_text(workflow.name)}", "flowchart TD"]
    for node, shape, lines in nodes:
        label = "<br/>".join(_mermaid_text(line) for line in lines)
        out.append(f"    {node}{shapes[shape](label)}")
    for source, target, label, dashed in edges:
        arrow = "-.->" if dashed else "-->"
        text = f'|"{_mermaid_text(label)}"|' if label else ""
        out.append(f"    {source} {arrow}{text} {target}")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(workflow: Workflow) -> str:
    """The workflow as a Graphviz digraph (render with ``dot -Tsvg``)."""
    shapes = {"input": "parallelogram", "step": "box", "return": "oval"}
    nodes, edges = _graph(workflow)
    out = [
        f'digraph "{_dot_text(workflow.name)}" {{',
        "    rankdir=TB;",
        '    node [fontname="Helvetica"];',
    ]
    for node, shape, lines in nodes:
        label = "\\n".join(_dot_text(line) for line in lines)
        out.append(f'    {node} [label="{label}", shape={shapes[shape]}];')
    for source, target, label, dashed in edges:
        attrs = [f'label="{_dot_text(label)}"'] if label else []
        if dashed:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"    {source} -> {target}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"
