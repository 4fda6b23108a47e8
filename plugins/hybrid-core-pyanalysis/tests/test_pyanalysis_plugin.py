"""The plugin as hybrid_core sees it: the hook, the installed entry point, and routing."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import hybrid_core
import hybrid_core_pyast
import pluggy
import pyflakes
import pytest
import radon
from hybrid_core.testing import InMemorySink

import hybrid_core_pyanalysis

ENGINES = {
    "radon.complexity": ("python.complexity", hybrid_core_pyanalysis.run_complexity, "radon"),
    "pyflakes.lint": ("python.lint", hybrid_core_pyanalysis.run_lint, "pyflakes"),
}
LIBRARY_VERSIONS = {"radon": radon.__version__, "pyflakes": pyflakes.__version__}
README = Path(__file__).resolve().parents[1] / "README.md"
SOURCE = """\
import os

def f(a):
    try:
        return a
    except KeyError:
        pass
    else:
        pass
"""


def test_public_names_are_exactly_these() -> None:
    assert hybrid_core_pyanalysis.__all__ == sorted(hybrid_core_pyanalysis.__all__)
    assert set(hybrid_core_pyanalysis.__all__) == {
        "__version__",
        "hybrid_engines",
        "run_complexity",
        "run_lint",
    }


def test_the_hook_returns_process_engines_at_priority_20() -> None:
    engines = {engine.name: engine for engine in hybrid_core_pyanalysis.hybrid_engines()}
    assert list(engines) == list(ENGINES)
    for name, engine in engines.items():
        capability, handler, library = ENGINES[name]
        assert isinstance(engine, hybrid_core.Engine)
        assert dict(engine.capabilities) == {capability: 20}
        assert engine.handler is handler
        assert (engine.process, engine.blocking, engine.accepts_context) == (True, True, False)
        assert engine.version == hybrid_core_pyanalysis.__version__
        assert engine.description
        assert dict(engine.metadata) == {
            "library": library,
            "library_version": LIBRARY_VERSIONS[library],
        }


def test_each_engine_outranks_the_stdlib_engine_it_backs_up() -> None:
    stdlib = {
        cap: prio
        for e in hybrid_core_pyast.hybrid_engines()
        for cap, prio in e.capabilities.items()
    }
    for engine in hybrid_core_pyanalysis.hybrid_engines():
        for capability, priority in engine.capabilities.items():
            assert priority > stdlib[capability]


def test_the_hook_is_marked_for_the_hybrid_core_project() -> None:
    manager = pluggy.PluginManager("hybrid_core")
    manager.add_hookspecs(hybrid_core.hookspecs)
    manager.register(hybrid_core_pyanalysis, name="pyanalysis")
    (engines,) = manager.hook.hybrid_engines()
    assert [engine.name for engine in engines] == list(ENGINES)


def test_the_readme_documents_every_engine_and_capability() -> None:
    text = README.read_text(encoding="utf-8")
    for name, (capability, _, _) in ENGINES.items():
        assert f"`{name}`" in text
        assert f"`{capability}`" in text


def installed() -> importlib.metadata.Distribution:
    """The pip-installed distribution; skips when only a source checkout is importable."""
    try:
        dist = importlib.metadata.distribution("hybrid-core-pyanalysis")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    # Build metadata left in a source tree (an .egg-info) has no INSTALLER file.
    if dist is None or dist.read_text("INSTALLER") is None:
        pytest.skip(
            "hybrid-core-pyanalysis is not pip-installed; "
            "run 'pip install plugins/hybrid-core-pyast plugins/hybrid-core-pyanalysis'"
        )
    return dist


def test_the_installed_distribution_declares_the_entry_point_and_needs() -> None:
    dist = installed()
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group="hybrid_core")}
    assert found["pyanalysis"].value == "hybrid_core_pyanalysis"
    assert found["pyanalysis"].load() is hybrid_core_pyanalysis
    assert dist.version == hybrid_core_pyanalysis.__version__
    assert sorted(dist.requires or []) == [
        "hybrid-core-pyast>=0.1",
        "hybrid-core>=0.1",
        "pyflakes>=3",
        "radon>=6",
    ]
    assert Path(hybrid_core_pyanalysis.__file__).with_name("py.typed").is_file()


def served(sink: InMemorySink) -> list[tuple[str | None, str]]:
    """(provider, outcome) of every engine call, in order."""
    return [(e.provider, e.attributes["outcome"]) for e in sink.named("engine.call.stop")]


def test_with_both_plugins_radon_and_pyflakes_serve() -> None:
    installed()
    sink = InMemorySink()
    payload = {"source": SOURCE, "path": "s.py"}
    with hybrid_core.Hybrid(
        only=["pyast", "pyanalysis"], env={}, strict=True, sinks=[sink]
    ) as system:
        assert system.explain("python.complexity").choice == "radon.complexity"
        assert system.explain("python.lint").choice == "pyflakes.lint"
        complexity = system.execute("python.complexity", payload)
        lint = system.execute("python.lint", payload)
    assert served(sink) == [("radon.complexity", "ok"), ("pyflakes.lint", "ok")]
    assert complexity == hybrid_core_pyanalysis.run_complexity(payload)
    assert complexity["functions"][0]["complexity"] == 3  # radon counts the try's else
    assert lint == hybrid_core_pyanalysis.run_lint(payload)


def test_with_pyast_alone_the_stdlib_engines_serve() -> None:
    installed()
    sink = InMemorySink()
    payload = {"source": SOURCE, "path": "s.py"}
    with hybrid_core.Hybrid(only=["pyast"], env={}, strict=True, sinks=[sink]) as system:
        assert system.explain("python.complexity").choice == "pyast.complexity"
        assert system.explain("python.lint").choice == "pyast.lint"
        complexity = system.execute("python.complexity", payload)
        lint = system.execute("python.lint", payload)
    assert served(sink) == [("pyast.complexity", "ok"), ("pyast.lint", "ok")]
    assert complexity == hybrid_core_pyast.run_complexity(payload)
    assert complexity["functions"][0]["complexity"] == 2
    assert lint == hybrid_core_pyast.run_lint(payload)


def test_code_too_deep_for_radon_is_served_by_the_stdlib_fallback() -> None:
    installed()
    sink = InMemorySink()
    source = "def deep(a):\n    return " + " + ".join(["a"] * 1500) + "\n"
    with hybrid_core.Hybrid(
        only=["pyast", "pyanalysis"], env={}, strict=True, sinks=[sink]
    ) as system:
        result: Any = system.execute("python.complexity", {"source": source})
    assert served(sink) == [("radon.complexity", "error"), ("pyast.complexity", "ok")]
    error = sink.named("engine.call.stop")[0].attributes["error"]
    assert error.startswith("RecursionError: function 'deep' at line 1 nests too deeply")
    assert result == hybrid_core_pyast.run_complexity({"source": source})


def test_a_bad_payload_reaches_the_caller_without_a_retry() -> None:
    installed()
    sink = InMemorySink()
    with (
        hybrid_core.Hybrid(
            only=["pyast", "pyanalysis"], env={}, strict=True, sinks=[sink]
        ) as system,
        pytest.raises(hybrid_core.PayloadError, match=r"^pyanalysis payload key 'source'"),
    ):
        system.execute("python.lint", {"source": b"import os"})
    assert [e.provider for e in sink.named("route.decision")] == ["pyflakes.lint"]
