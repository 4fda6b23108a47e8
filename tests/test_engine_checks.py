"""Engine mistakes are found when the plugin loads, not as a failure on every call.

A handler the core cannot call the way it calls handlers, and a ``process=True``
handler a worker process cannot import by name, make the plugin fail to load, with a
message naming the engine, the handler's signature and what the core passes; the other
plugins keep working, and strict mode turns it into an error.
"""

from __future__ import annotations

import functools
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clitools import pip_install_into, run_hybrid

from hybrid_core import Engine, PluginError
from hybrid_core._core.records import call_problem, engine_problem
from hybrid_core.testing import make_engine, make_plugin, make_system


def upper(payload: Any) -> str:
    return str(payload).upper()


def no_parameter() -> str:
    return "never called"


def three_required(payload: Any, context: Any, extra: Any) -> Any:
    return payload


def keyword_flag(payload: Any, *, flag: bool) -> Any:
    return payload


def keyword_context(payload: Any, *, context: Any) -> Any:
    return payload


def optional_extra(payload: Any, options: Any = None) -> Any:
    return payload


def anything(*args: Any, **kwargs: Any) -> Any:
    return args


class Method:
    def run(self, payload: Any) -> str:
        return str(payload)


def statuses(system: Any) -> dict[str, tuple[str, str | None]]:
    return {r.name: (r.status, r.error) for r in system.plugins}


@pytest.mark.parametrize(
    ("handler", "core_call", "why"),
    [
        (no_parameter, "handler(payload)", "too many positional arguments"),
        (three_required, "handler(payload, context)", "missing a required argument: 'extra'"),
        (keyword_flag, "handler(payload)", "missing a required argument: 'flag'"),
    ],
)
def test_a_handler_of_the_wrong_shape_fails_its_plugin_at_load(
    handler: Any, core_call: str, why: str
) -> None:
    bad = make_engine(handler, "text.bad", name="acme.bad")
    good = make_engine(upper, "text.upper", name="other.upper")
    plugins = make_plugin("acme", engines=[bad]), make_plugin("other", engines=[good])
    system, _ = make_system(*plugins)
    with system:
        status, error = statuses(system)["acme"]
        assert status == "failed"
        assert error is not None
        assert "engine 'acme.bad'" in error
        assert f"{handler.__name__}{_signature(handler)}" in error
        assert core_call in error and why in error
        assert "one parameter for the payload" in error  # the fix
        assert statuses(system)["other"] == ("loaded", None)
        assert system.execute("text.upper", "ok") == "OK"
        assert "acme.bad" not in system.registry


def _signature(fn: Any) -> str:
    import inspect

    return str(inspect.signature(fn))


@pytest.mark.parametrize(
    "handler",
    [upper, keyword_context, optional_extra, anything, Method().run, functools.partial(upper)],
)
def test_handlers_the_core_can_call_load(handler: Any) -> None:
    assert call_problem("acme.ok", handler) is None
    system, _ = make_system(make_plugin("acme", engines=[make_engine(handler, "text.ok")]))
    with system:
        assert statuses(system)["acme"] == ("loaded", None)


def test_a_wrong_arity_handler_is_no_longer_retried_on_every_call() -> None:
    """Before, the engine loaded and each request failed three times with a TypeError."""
    calls: list[Any] = []

    def counted(payload: Any, context: Any, extra: Any) -> None:
        calls.append(payload)

    system, sink = make_system(make_plugin("acme", engines=[make_engine(counted, "text.x")]))
    with system:
        assert statuses(system)["acme"][0] == "failed"
        assert not system.providers("text.x")
    assert calls == [] and not sink.named("engine.call.start")
    assert [e.attributes["plugin"] for e in sink.named("plugin.load_failed")] == ["acme"]


def local_handlers() -> dict[str, Any]:
    def closure(payload: Any) -> Any:
        return payload

    class Local:
        def run(self, payload: Any) -> Any:
            return payload

    return {
        "a lambda": lambda payload: payload,
        "a closure": closure,
        "a bound method of a local object": Local().run,
    }


@pytest.mark.parametrize("kind", sorted(local_handlers()))
def test_a_process_handler_not_importable_by_name_fails_at_load(kind: str) -> None:
    handler = local_handlers()[kind]
    engine = make_engine(handler, "text.cpu", name="acme.cpu", process=True)
    system, _ = make_system(make_plugin("acme", engines=[engine]))
    with system:
        status, error = statuses(system)["acme"]
    assert status == "failed"
    assert error is not None and "engine 'acme.cpu'" in error
    assert "process=True" in error and "cannot be pickled" in error
    assert "at the top level of an importable module" in error  # the fix
    assert "or drop process=True" in error


def test_a_process_handler_importable_by_name_loads_and_runs() -> None:
    engine = make_engine(upper, "text.cpu", name="acme.cpu", process=True)
    method = make_engine(Method().run, "text.method", name="acme.method", process=True)
    system, _ = make_system(make_plugin("acme", engines=[engine, method]))
    with system:
        assert statuses(system)["acme"] == ("loaded", None)
        assert system.execute("text.cpu", "abc") == "ABC"
        assert system.execute("text.method", 7) == "7"


def test_the_same_engine_as_a_thread_handler_needs_no_import_by_name() -> None:
    engine = make_engine(lambda payload: payload, "text.echo", name="acme.echo", blocking=True)
    assert engine_problem(engine) is None


def test_strict_mode_makes_a_refused_engine_an_error() -> None:
    bad = make_engine(no_parameter, "text.bad", name="acme.bad")
    system, _ = make_system(make_plugin("acme", engines=[bad]), strict=True)
    with pytest.raises(PluginError, match=r"engine 'acme\.bad': its handler no_parameter\(\)"):
        system.start()
    system.close()


def test_engine_contract_and_load_share_one_check() -> None:
    """EngineContract asserts exactly what loading refuses, with the same words."""
    from hybrid_core.testing import EngineContract

    engine = Engine(name="acme.bad", capabilities={"text.bad": 1}, handler=three_required)
    with pytest.raises(AssertionError) as caught:
        EngineContract().test_handler_takes_what_the_core_passes(engine)
    assert str(caught.value).splitlines()[0] == call_problem("acme.bad", three_required)


# -- through a real installed distribution and the CLI ------------------------------------

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-broken-engines"
version = "0.3.0"
dependencies = ["hybrid-core"]

[tool.setuptools]
py-modules = ["acme_arity", "acme_cpu"]

[project.entry-points.hybrid_core]
acme_arity = "acme_arity"
acme_cpu = "acme_cpu"
"""

ARITY = """
import hybrid_core


def count(payload, context, options):
    return len(payload)


@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="acme.count", capabilities={"text.count": 10},
                               handler=count)]
"""

CPU = """
import hybrid_core


@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="acme.square", capabilities={"math.square": 10},
                               handler=lambda payload: payload * payload, process=True)]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building a distribution needs setuptools")
    source = tmp_path_factory.mktemp("acme-broken-src")
    (source / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (source / "acme_arity.py").write_text(textwrap.dedent(ARITY))
    (source / "acme_cpu.py").write_text(textwrap.dedent(CPU))
    return pip_install_into(source, tmp_path_factory.mktemp("acme-broken-target"))


def test_hybrid_plugins_shows_the_refused_engines(installed: Path) -> None:
    env = {"PYTHONPATH": str(installed), "HYBRID_CORE_PLUGINS": "acme_arity,acme_cpu"}
    result = run_hybrid("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    arity, cpu = records["acme_arity"], records["acme_cpu"]
    assert (arity["status"], arity["distribution"], arity["version"]) == (
        "failed", "acme-broken-engines", "0.3.0",
    )  # fmt: skip
    assert "engine 'acme.count'" in arity["error"]
    assert "count(payload, context, options)" in arity["error"]
    assert "handler(payload, context)" in arity["error"]
    assert cpu["status"] == "failed"
    assert "engine 'acme.square'" in cpu["error"] and "<lambda>" in cpu["error"]
    assert records["builtin"]["status"] == "loaded"

    text = run_hybrid("plugins", env=env)
    assert text.returncode == 0, text.stderr
    assert "acme_arity failed: plugin 'acme_arity'" in text.stderr
    assert "count(payload, context, options) cannot be called" in text.stderr


def test_strict_hybrid_plugins_exits_2_naming_the_engine(installed: Path) -> None:
    env = {"PYTHONPATH": str(installed), "HYBRID_CORE_PLUGINS": "acme_arity"}
    result = run_hybrid("plugins", "--strict", env=env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "engine 'acme.count'" in result.stderr
