"""LangGraph: the workloads as a ``StateGraph`` with one node per step, compiled once.

chain: nodes ``s0`` .. ``s{n-1}`` in a line, each adding 1 to the state's ``x`` (the
recursion limit is raised to fit the chain's length). fanout: a ``source`` node, ``n``
nodes each appending ``x + i`` to a list channel with an ``operator.add`` reducer (edges
from ``source`` to every one), and a ``sink`` that waits for all of them (one edge from
the list of leaves) and sums the list. io: ``n`` nodes from ``START``, each sleeping and
appending its index. Nodes are ``async def`` and each run is one ``graph.ainvoke``; the
sync variant runs plain functions with ``graph.invoke`` (LangGraph runs parallel nodes
in a thread pool there, so the I/O leaves sleep with ``time.sleep``).
"""

from __future__ import annotations

import asyncio
import operator
import time
from importlib.metadata import version
from typing import Annotated, Any, TypedDict

import _harness
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    parts: Annotated[list[int], operator.add]
    total: int


def chain_node(is_async: bool) -> Any:
    if is_async:

        async def step(state: State) -> dict[str, int]:
            return {"x": state["x"] + 1}

        return step
    return lambda state: {"x": state["x"] + 1}


def leaf_node(i: int, is_async: bool) -> Any:
    if is_async:

        async def leaf(state: State) -> dict[str, list[int]]:
            return {"parts": [state["x"] + i]}

        return leaf
    return lambda state: {"parts": [state["x"] + i]}


def io_node(i: int, sleep: float, is_async: bool) -> Any:
    if is_async:

        async def wait(state: State) -> dict[str, list[int]]:
            await asyncio.sleep(sleep)
            return {"parts": [i]}

        return wait

    def block(state: State) -> dict[str, list[int]]:
        time.sleep(sleep)
        return {"parts": [i]}

    return block


def graph(workload: str, steps: int, sleep: float, is_async: bool, checkpointer: Any = None) -> Any:
    """The compiled graph for ``workload`` and a function reading its answer; with
    ``checkpointer``, compiled to save its state there."""
    builder = StateGraph(State)
    if workload == "chain":
        for i in range(steps):
            builder.add_node(f"s{i}", chain_node(is_async))
            builder.add_edge(f"s{i - 1}" if i else START, f"s{i}")
        builder.add_edge(f"s{steps - 1}", END)
        return builder.compile(checkpointer=checkpointer), lambda out: out["x"]
    if workload == "fanout":
        builder.add_node("source", _identity(is_async))
        builder.add_edge(START, "source")
        leaves = [f"f{i}" for i in range(steps)]
        for i, name in enumerate(leaves):
            builder.add_node(name, leaf_node(i, is_async))
            builder.add_edge("source", name)
        builder.add_node("sink", _sum(is_async))
        builder.add_edge(leaves, "sink")
        builder.add_edge("sink", END)
        return builder.compile(checkpointer=checkpointer), lambda out: out["total"]
    for i in range(steps):
        builder.add_node(f"io{i}", io_node(i, sleep, is_async))
        builder.add_edge(START, f"io{i}")
        builder.add_edge(f"io{i}", END)
    return builder.compile(checkpointer=checkpointer), lambda out: sorted(out["parts"])


def _identity(is_async: bool) -> Any:
    if is_async:

        async def source(state: State) -> dict[str, int]:
            return {"x": state["x"]}

        return source
    return lambda state: {"x": state["x"]}


def _sum(is_async: bool) -> Any:
    if is_async:

        async def sink(state: State) -> dict[str, int]:
            return {"total": sum(state["parts"])}

        return sink
    return lambda state: {"total": sum(state["parts"])}


def config(steps: int) -> dict[str, Any]:
    return {"recursion_limit": steps + 10}


def build_sync(workload: str, steps: int, sleep: float) -> Any:
    compiled, read = graph(workload, steps, sleep, is_async=False)
    return lambda: read(compiled.invoke({"x": 1, "parts": []}, config(steps)))


async def build_async(workload: str, steps: int, sleep: float) -> Any:
    compiled, read = graph(workload, steps, sleep, is_async=True)

    async def run() -> Any:
        return read(await compiled.ainvoke({"x": 1, "parts": []}, config(steps)))

    return run


def main() -> None:
    given = _harness.plan()
    variants = {
        "async": _harness.run_async(given, build_async),
        "sync": _harness.run_sync(given, build_sync),
    }
    _harness.emit(version("langgraph"), variants)


if __name__ == "__main__":
    main()
