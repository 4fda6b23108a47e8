"""The registry indexes providers by capability, kind and name, and stays consistent."""

from __future__ import annotations

import threading

import pytest

from hybrid_core import (
    DuplicateProviderError,
    Engine,
    ProviderKind,
    Registry,
    UnknownCapabilityError,
)


def handler(payload: object) -> object:
    return payload


def engine(name: str, **caps: int) -> Engine:
    return Engine(
        name=name, capabilities={k.replace("__", "."): v for k, v in caps.items()}, handler=handler
    )


def test_lookup_orders_by_priority_then_registration_order() -> None:
    reg = Registry()
    reg.register_engine(engine("low", text__upper=1))
    reg.register_engine(engine("first_high", text__upper=5))
    reg.register_engine(engine("second_high", text__upper=5))
    assert [p.name for p in reg.providers("text.upper")] == ["first_high", "second_high", "low"]


def test_one_provider_serves_several_capabilities_with_own_priorities() -> None:
    reg = Registry()
    reg.register_engine(engine("a", x__one=1, x__two=9))
    reg.register_engine(engine("b", x__one=5, x__two=2))
    assert [p.name for p in reg.providers("x.one")] == ["b", "a"]
    assert [p.name for p in reg.providers("x.two")] == ["a", "b"]
    assert reg.providers("x.one")[0].priority("x.one") == 5


def test_lookup_by_kind_and_name() -> None:
    reg = Registry()
    p = reg.register_engine(engine("a", c=1))
    wf = reg.register(ProviderKind.WORKFLOW, "flow", {"c": 3}, object(), origin="tests")
    assert reg.get("a") is p and reg.get("missing") is None
    assert reg.of_kind(ProviderKind.ENGINE) == (p,)
    assert reg.of_kind(ProviderKind.WORKFLOW) == (wf,)
    assert [x.name for x in reg.providers("c")] == ["flow", "a"]


def test_unregister_removes_every_index_entry() -> None:
    reg = Registry()
    reg.register_engine(engine("a", c=1, d=1))
    reg.register_engine(engine("b", c=2))
    reg.unregister("a")
    assert [p.name for p in reg.providers("c")] == ["b"]
    assert reg.providers("d") == ()
    assert "d" not in reg.capabilities()
    assert reg.get("a") is None and len(reg) == 1
    assert [p.name for p in reg.of_kind(ProviderKind.ENGINE)] == ["b"]
    with pytest.raises(KeyError, match="no provider named 'a'"):
        reg.unregister("a")


def test_duplicate_names_name_both_origins() -> None:
    reg = Registry()
    reg.register_engine(engine("same", c=1), origin="plugin-one")
    with pytest.raises(DuplicateProviderError) as info:
        reg.register_engine(engine("same", d=1), origin="plugin-two")
    assert "'plugin-one'" in str(info.value) and "'plugin-two'" in str(info.value)
    assert reg.providers("d") == ()


def test_register_many_is_all_or_nothing() -> None:
    reg = Registry()
    reg.register_engine(engine("taken", c=1))
    batch = [
        (ProviderKind.ENGINE, "fresh", {"c": 1}, None),
        (ProviderKind.ENGINE, "taken", {"c": 1}, None),
    ]
    with pytest.raises(DuplicateProviderError):
        reg.register_many(batch, origin="p")
    assert reg.get("fresh") is None and len(reg.providers("c")) == 1


def test_unknown_capability_suggests_close_names() -> None:
    reg = Registry()
    reg.register_engine(engine("a", python__complexity=1))
    with pytest.raises(UnknownCapabilityError, match=r"did you mean 'python.complexity'\?"):
        reg.require("python.complexty")
    assert reg.providers("python.complexty") == ()


def test_compatibility_says_how_each_provider_can_be_used() -> None:
    class Flow:
        inputs = ("path",)

    reg = Registry()
    reg.register_engine(engine("e", c=1))
    reg.register(ProviderKind.WORKFLOW, "served", {"c": 1}, Flow())
    reg.register(ProviderKind.WORKFLOW, "plain", {}, Flow())
    rows = {r.name: r for r in reg.compatibility()}
    assert rows["e"].as_step == ("engine", "capability") and rows["e"].as_engine
    assert rows["served"].as_engine and "input 'path'" in rows["served"].payload
    assert not rows["plain"].as_engine and rows["plain"].as_step == ("compose",)


def test_reads_are_consistent_while_another_thread_registers() -> None:
    reg = Registry()
    stop = threading.Event()
    seen_bad: list[object] = []

    def writer() -> None:
        for i in range(2000):
            reg.register_engine(engine(f"e{i}", c=i % 7))
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            found = reg.providers("c")
            prios = [p.priority("c") for p in found]
            if prios != sorted(prios, reverse=True):
                seen_bad.append(prios)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not seen_bad
    assert len(reg.providers("c")) == 2000


def test_bulk_registration_keeps_lookups_ranked() -> None:
    reg = Registry()
    reg.register_many([(ProviderKind.ENGINE, f"e{i}", {"c": i % 10}, None) for i in range(10_000)])
    found = reg.providers("c")
    assert len(found) == 10_000
    assert found[0].priority("c") == 9 and found[-1].priority("c") == 0
    # ties keep registration order
    nines = [p.name for p in found if p.priority("c") == 9]
    assert nines[:3] == ["e9", "e19", "e29"]
