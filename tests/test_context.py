"""Execution contexts: ids, nesting, shared state, deadlines and cancellation."""

from __future__ import annotations

import gc
import re
import threading
import time
import weakref

import pytest

from hybrid_core import Cancelled, CancelToken, DeadlineExceeded, ExecutionContext, SharedState
from hybrid_core._core.context import parse_traceparent

HEX32 = re.compile(r"[0-9a-f]{32}\Z")
HEX16 = re.compile(r"[0-9a-f]{16}\Z")


def test_root_has_w3c_ids_and_no_parent() -> None:
    ctx = ExecutionContext.root(name="run")
    assert HEX32.match(ctx.trace_id) and HEX16.match(ctx.span_id)
    assert ctx.parent is None and ctx.depth == 0 and ctx.parent_span_id is None
    assert ctx.traceparent == f"00-{ctx.trace_id}-{ctx.span_id}-01"


def test_children_share_trace_and_state_and_get_new_spans() -> None:
    root = ExecutionContext.root(state={"k": 1})
    child = root.child(name="step")
    grandchild = child.child()
    assert child.trace_id == root.trace_id == grandchild.trace_id
    assert len({root.span_id, child.span_id, grandchild.span_id}) == 3
    assert grandchild.parent_span_id == child.span_id and grandchild.depth == 2
    assert child.run_id == root.run_id
    assert [c.depth for c in grandchild.lineage()] == [2, 1, 0]
    grandchild.state.set("written", "deep")
    assert root.state.get("written") == "deep" and root.state["k"] == 1


def test_nesting_depth_is_unbounded() -> None:
    ctx = ExecutionContext.root()
    for _ in range(5000):
        ctx = ctx.child()
    assert ctx.depth == 5000


def test_shared_state_update_is_atomic_across_threads() -> None:
    state = SharedState()

    def bump() -> None:
        for _ in range(1000):
            state.update("n", lambda v: v + 1, default=0)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["n"] == 8000
    assert state.snapshot() == {"n": 8000}


def test_child_deadline_is_never_later_than_parent() -> None:
    root = ExecutionContext.root(timeout=0.5)
    longer = root.child(timeout=10)
    shorter = root.child(timeout=0.1)
    assert longer.deadline == root.deadline
    assert shorter.deadline is not None and root.deadline is not None
    assert shorter.deadline < root.deadline
    assert ExecutionContext.root().remaining() is None


def test_expired_deadline_raises_on_check() -> None:
    ctx = ExecutionContext.root(timeout=0.001)
    time.sleep(0.005)
    assert ctx.expired and ctx.remaining() == 0.0
    with pytest.raises(DeadlineExceeded):
        ctx.check()


def test_cancelling_a_parent_cancels_children_not_the_reverse() -> None:
    root = ExecutionContext.root()
    a, b = root.child(), root.child()
    a_child = a.child()
    a.cancel("a only")
    assert a.cancelled and a_child.cancelled and not root.cancelled and not b.cancelled
    root.cancel("all")
    assert b.cancelled
    with pytest.raises(Cancelled, match="all"):
        b.check()
    late = root.child()
    assert late.cancelled


def test_cancel_callbacks_run_once_and_can_be_removed() -> None:
    ctx = ExecutionContext.root()
    calls: list[str] = []
    ctx.cancel_token.on_cancel(calls.append)
    remove = ctx.cancel_token.on_cancel(lambda r: calls.append("removed " + r))
    remove()
    ctx.cancel("why")
    ctx.cancel("again")
    assert calls == ["why"]


def test_metadata_merges_into_children_without_touching_parent() -> None:
    root = ExecutionContext.root(metadata={"tenant": "a"})
    child = root.child(metadata={"step": "s"})
    assert dict(child.metadata) == {"tenant": "a", "step": "s"}
    assert dict(root.metadata) == {"tenant": "a"}


def test_traceparent_round_trip_and_errors() -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ctx = ExecutionContext.root(traceparent=header)
    assert ctx.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ctx.metadata["remote_parent_span_id"] == "00f067aa0ba902b7"
    assert parse_traceparent(header)[1] == "00f067aa0ba902b7"
    with pytest.raises(ValueError, match="malformed"):
        parse_traceparent("00-abc-def-01")
    with pytest.raises(ValueError, match="all-zero"):
        parse_traceparent("00-" + "0" * 32 + "-" + "1" * 16 + "-01")


def test_context_is_immutable() -> None:
    ctx = ExecutionContext.root()
    with pytest.raises(AttributeError):
        ctx.depth = 3  # type: ignore[misc]


def test_a_callback_on_a_grandchild_fires_when_the_root_is_cancelled() -> None:
    root = ExecutionContext.root()
    child = root.child()
    grandchild = child.child()
    calls: list[str] = []
    grandchild.cancel_token.on_cancel(calls.append)
    root.cancel("stop")
    assert calls == ["stop"]
    assert grandchild.cancel_token.reason == "stop" and child.cancelled


def test_a_callback_under_an_already_cancelled_ancestor_fires_at_once() -> None:
    root = ExecutionContext.root()
    child = root.child()  # made before the cancellation, never linked to the root
    root.cancel("early")
    grandchild = child.child()
    calls: list[str] = []
    remove = grandchild.cancel_token.on_cancel(calls.append)
    assert calls == ["early"]
    remove()
    grandchild.cancel("later")  # already cancelled: nothing changes, nothing runs again
    assert calls == ["early"] and grandchild.cancel_token.reason == "early"


def test_cancelling_from_another_thread_runs_callbacks_once() -> None:
    root = ExecutionContext.root()
    leaves = [root.child().child() for _ in range(50)]
    calls: list[str] = []
    for leaf in leaves:
        leaf.cancel_token.on_cancel(calls.append)
    threads = [threading.Thread(target=root.cancel, args=("t",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["t"] * 50


def test_a_long_lived_parent_keeps_no_child_alive() -> None:
    root = ExecutionContext.root()
    token = root.child().cancel_token
    token.on_cancel(lambda reason: None)  # linked into the root's cascade, weakly
    ref = weakref.ref(token)
    del token
    gc.collect()
    assert ref() is None
    root.cancel("after")  # nothing left to reach: no error


def test_a_childs_span_id_is_drawn_once_and_differs_from_its_siblings() -> None:
    root = ExecutionContext.root()
    a, b = root.child(), root.child()
    assert a.span_id == a.span_id and a.span_id != b.span_id
    assert re.fullmatch(r"[0-9a-f]{16}", a.span_id) and a.span_id != "0" * 16
    assert a.parent_span_id == root.span_id and a.traceparent.split("-")[2] == a.span_id
    with pytest.raises(AttributeError):
        a.name = "renamed"  # type: ignore[misc]


def test_a_childs_cancel_token_is_made_on_first_use_and_follows_its_parent() -> None:
    outer = CancelToken()
    root = ExecutionContext(
        run_id="r", trace_id="1" * 32, span_id="2" * 16, parent=None, depth=0,
        state=SharedState(), deadline=None, cancel_token=outer.child(), metadata={},
        started_at=0.0, started_monotonic=0.0,
    )  # fmt: skip
    leaf = root.child().child()
    token = leaf.cancel_token
    assert token is leaf.cancel_token  # one token per context, made once
    assert not leaf.cancelled
    outer.cancel("from outside")  # above the root: still reaches the leaf
    assert leaf.cancelled and token.cancelled and token.reason == "from outside"
    with pytest.raises(Cancelled, match="from outside"):
        root.child().check()
