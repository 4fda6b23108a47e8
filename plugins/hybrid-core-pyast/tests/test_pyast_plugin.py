"""The plugin as hybrid_core sees it: the hook, its engines, and the installed entry point."""

from __future__ import annotations

import asyncio
import importlib.metadata
from pathlib import Path
from typing import Any

import hybrid_core
import pluggy
import pytest

import hybrid_core_pyast

CAPABILITIES = {
    "pyast.parse": "python.parse",
    "pyast.symbols": "python.symbols",
    "pyast.imports": "python.imports",
    "pyast.complexity": "python.complexity",
    "pyast.lint": "python.lint",
}
HANDLERS = {
    "pyast.parse": hybrid_core_pyast.run_parse,
    "pyast.symbols": hybrid_core_pyast.run_symbols,
    "pyast.imports": hybrid_core_pyast.run_imports,
    "pyast.complexity": hybrid_core_pyast.run_complexity,
    "pyast.lint": hybrid_core_pyast.run_lint,
}
README = Path(__file__).resolve().parents[1] / "README.md"


def test_public_names_are_exactly_these() -> None:
    assert hybrid_core_pyast.__all__ == sorted(hybrid_core_pyast.__all__)
    assert set(hybrid_core_pyast.__all__) == {
        "ComplexityResult",
        "ComplexityTotals",
        "ErrorRecord",
        "FunctionComplexity",
        "ImportRecord",
        "ImportsResult",
        "LintFinding",
        "LintProblem",
        "LintResult",
        "ParseResult",
        "Severity",
        "Symbol",
        "SymbolsResult",
        "__version__",
        "exempt_imports",
        "hybrid_engines",
        "parse",
        "report_complexity",
        "report_lint",
        "run_complexity",
        "run_imports",
        "run_lint",
        "run_parse",
        "run_symbols",
    }


def test_the_hook_returns_one_engine_per_capability(engines: dict[str, Any]) -> None:
    assert list(engines) == list(CAPABILITIES)
    for name, engine in engines.items():
        assert isinstance(engine, hybrid_core.Engine)
        assert dict(engine.capabilities) == {CAPABILITIES[name]: 10}
        assert engine.handler is HANDLERS[name]
        assert engine.version == hybrid_core_pyast.__version__
        assert engine.description


def test_engines_are_blocking_one_argument_handlers(engines: dict[str, Any]) -> None:
    for engine in engines.values():
        assert engine.blocking is True
        assert engine.accepts_context is False


def test_each_call_builds_fresh_engines() -> None:
    first, second = hybrid_core_pyast.hybrid_engines(), hybrid_core_pyast.hybrid_engines()
    assert first is not second
    assert [e.name for e in first] == [e.name for e in second]


def test_the_hook_is_marked_for_the_hybrid_core_project() -> None:
    manager = pluggy.PluginManager("hybrid_core")
    manager.add_hookspecs(hybrid_core.hookspecs)
    manager.register(hybrid_core_pyast, name="pyast")
    (engines,) = manager.hook.hybrid_engines()
    assert [engine.name for engine in engines] == list(CAPABILITIES)


def test_the_readme_documents_every_engine_and_capability() -> None:
    text = README.read_text(encoding="utf-8")
    for name, capability in CAPABILITIES.items():
        assert f"`{name}`" in text
        assert f"`{capability}`" in text


def installed() -> importlib.metadata.Distribution:
    """The pip-installed distribution; skips when only a source checkout is importable."""
    try:
        dist = importlib.metadata.distribution("hybrid-core-pyast")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    # Build metadata left in a source tree (an .egg-info) has no INSTALLER file.
    if dist is None or dist.read_text("INSTALLER") is None:
        pytest.skip(
            "hybrid-core-pyast is not pip-installed; run 'pip install plugins/hybrid-core-pyast'"
        )
    return dist


def test_the_installed_distribution_declares_the_entry_point() -> None:
    dist = installed()
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group="hybrid_core")}
    assert "pyast" in found
    assert found["pyast"].value == "hybrid_core_pyast"
    assert found["pyast"].load() is hybrid_core_pyast
    assert dist.version == hybrid_core_pyast.__version__


def test_the_installed_package_ships_py_typed() -> None:
    installed()
    assert Path(hybrid_core_pyast.__file__).with_name("py.typed").is_file()


def test_a_system_loads_the_plugin_from_its_entry_point() -> None:
    installed()
    with hybrid_core.Hybrid(only=["pyast"], env={}, strict=True) as system:
        (record,) = [r for r in system.plugins if r.name == "pyast"]
        assert (record.status, record.distribution) == ("loaded", "hybrid-core-pyast")
        assert record.hooks == ("hybrid_engines",)
        for name, capability in CAPABILITIES.items():
            assert [p.name for p in system.providers(capability)] == [name]


def test_a_handler_runs_in_the_systems_process_pool() -> None:
    installed()
    tree = hybrid_core_pyast.parse("def f(a):\n    return a or 1\n", "f.py")

    async def run() -> Any:
        async with hybrid_core.Hybrid(only=["pyast"], env={}, strict=True) as system:
            (provider,) = system.providers("python.complexity")
            call = hybrid_core.Call(
                provider.target.handler, ({"tree": tree, "path": "f.py"},), where="process"
            )
            return await system.executor.asubmit(call)

    result = asyncio.run(run())
    assert result["functions"][0]["complexity"] == 2
