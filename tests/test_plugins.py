"""Plugin discovery and loading through real entry points, and every way a plugin breaks.

Distributions are written to a folder on sys.path with a real ``.dist-info``, so
``importlib.metadata`` reads them exactly as it reads pip-installed ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from hybrid_core import Hybrid, PluginError, UnknownCapabilityError
from hybrid_core._plugins.manager import scan_entry_points

InstallPlugin = Callable[..., Any]

GOOD = """
import hybrid_core

def shout(payload):
    return str(payload).upper()

@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="acme.upper", capabilities={"text.upper": 10},
                               handler=shout)]
"""


def engines_plugin(body: str) -> str:
    return f"""
import hybrid_core

def handler(payload):
    return payload

@hybrid_core.hookimpl
def hybrid_engines():
{body}
"""


def start(**kwargs: object) -> Hybrid:
    system = Hybrid(**kwargs)  # type: ignore[arg-type]
    return system.start()


def record(system: Hybrid, name: str) -> dict[str, object]:
    return next(r.to_dict() for r in system.plugins if r.name == name)


def test_a_third_party_plugin_needs_only_an_entry_point(install_plugin: InstallPlugin) -> None:
    install_plugin("acme", "acme_plugin", GOOD, dist="acme-plugin", version="2.3")
    with Hybrid() as system:
        acme = record(system, "acme")
        (provider,) = system.providers("text.upper")
    assert acme["status"] == "loaded" and acme["hooks"] == ["hybrid_engines"]
    assert (acme["distribution"], acme["version"]) == ("acme-plugin", "2.3")
    assert provider.name == "acme.upper" and provider.origin == "acme"
    assert provider.target.version == "2.3"  # the engine gave none: its distribution's


def test_scan_happens_once_per_process(
    install_plugin: InstallPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin("acme", "acme_scan", GOOD)
    import importlib.metadata

    calls = []
    real = importlib.metadata.entry_points
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw)
    )
    for _ in range(3):
        with Hybrid():
            pass
    assert calls == []
    scan_entry_points(refresh=True)
    assert len(calls) == 1


def test_plugin_that_fails_to_import_is_recorded_and_others_load(
    install_plugin: InstallPlugin,
) -> None:
    install_plugin("broken", "broken_import", "import does_not_exist_anywhere\n")
    install_plugin("acme", "acme_ok1", GOOD)
    with Hybrid() as system:
        broken = record(system, "broken")
        assert system.providers("text.upper")
    assert broken["status"] == "failed"
    assert "failed to import 'broken_import'" in str(broken["error"])
    assert "does_not_exist_anywhere" in str(broken["error"])
    assert broken["distribution"] == "broken-import" and broken["version"] == "1.0"


def test_plugin_raising_at_import_time_even_systemexit(install_plugin: InstallPlugin) -> None:
    install_plugin("exits", "exits_at_import", "raise SystemExit(3)\n")
    with Hybrid() as system:
        assert record(system, "exits")["status"] == "failed"


HOST = """
import sys, hybrid_core
try:
    with hybrid_core.Hybrid() as system:
        status = {r.name: r.status for r in system.plugins}
        print("started", status.get("busy"), flush=True)
except KeyboardInterrupt:
    print("host interrupted", flush=True)
    sys.exit(130)
"""

BUSY = """
import sys, time
import hybrid_core

def busy():
    print("busy", flush=True)
    time.sleep(30)
{where}
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    "where",
    [
        "busy()  # at import",
        "@hybrid_core.hookimpl\ndef hybrid_engines():\n    busy()",
        "@hybrid_core.hookimpl\ndef hybrid_startup(system):\n    busy()",
    ],
    ids=["import", "engines-hook", "startup-hook"],
)
def test_a_real_ctrl_c_while_plugin_code_runs_interrupts_the_host(
    install_plugin: InstallPlugin, where: str
) -> None:
    """A plugin that raises KeyboardInterrupt itself only fails; a real SIGINT interrupts."""
    site = install_plugin("busy", "busy_plugin", BUSY.format(where=where))
    env = {**os.environ, "PYTHONPATH": str(site), "HYBRID_CORE_PLUGINS": "busy"}
    host = subprocess.Popen(
        [sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert host.stdout is not None
        assert host.stdout.readline().strip() == "busy"
        host.send_signal(signal.SIGINT)
        out, _ = host.communicate(timeout=20)
    finally:
        host.kill()
    assert (host.returncode, out.strip()) == (130, "host interrupted")


def test_a_plugin_raising_keyboardinterrupt_itself_only_fails(
    install_plugin: InstallPlugin,
) -> None:
    install_plugin("kbd", "kbd_at_import", "raise KeyboardInterrupt\n")
    install_plugin("kbd2", "kbd_in_hook", engines_plugin("    raise KeyboardInterrupt"))
    with Hybrid() as system:
        assert record(system, "kbd")["status"] == "failed"
        assert record(system, "kbd2")["status"] == "failed"


def test_hook_that_raises(install_plugin: InstallPlugin) -> None:
    install_plugin("raiser", "raiser_mod", engines_plugin("    raise RuntimeError('boom')"))
    install_plugin("acme", "acme_ok2", GOOD)
    with Hybrid() as system:
        rec = record(system, "raiser")
        assert system.providers("text.upper")
    assert rec["status"] == "failed"
    assert rec["error"] == "plugin 'raiser': hook hybrid_engines() raised RuntimeError: boom"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    return None", "returned None; it must return a list"),
        ("    return 'engine'", "returned 'engine'; it must return a list"),
        ("    return {'a': 1}", "it must return a list"),
        ("    return [object()]", "item 0 (<object object"),
        (
            "    return [hybrid_core.Engine(name='x', capabilities={'c': 1}, handler=handler), 3]",
            "item 1 (3) is not a hybrid_core.Engine",
        ),
    ],
)
def test_hook_returning_malformed_values(
    install_plugin: InstallPlugin, body: str, message: str
) -> None:
    install_plugin("bad", "bad_returns", engines_plugin(body))
    with Hybrid() as system:
        rec = record(system, "bad")
        assert system.registry.names_from("bad") == []  # a failed plugin registers nothing
    assert rec["status"] == "failed" and message in str(rec["error"])


@pytest.mark.parametrize(
    ("engine_kwargs", "message"),
    [
        ("capabilities={}", "serves no capability"),
        ("capabilities={'bad name': 1}", "capability name 'bad name' (from engine 'x')"),
        ("capabilities={'c': -5}", "priority of capability 'c' is -5"),
        ("capabilities={'c': 1}, handler=42", "handler must be callable"),
    ],
)
def test_invalid_engines_are_reported_naming_the_plugin(
    install_plugin: InstallPlugin, engine_kwargs: str, message: str
) -> None:
    kwargs = engine_kwargs if "handler" in engine_kwargs else engine_kwargs + ", handler=handler"
    body = f"    return [hybrid_core.Engine(name='x', {kwargs})]"
    install_plugin("invalid", "invalid_engine", engines_plugin(body))
    install_plugin("acme", "acme_ok3", GOOD)
    with Hybrid() as system:
        rec = record(system, "invalid")
        assert [p.name for p in system.providers("text.upper")] == ["acme.upper"]
    assert rec["status"] == "failed"
    assert str(rec["error"]).startswith("plugin 'invalid': hook hybrid_engines() raised")
    assert message in str(rec["error"])


def test_two_plugins_registering_one_engine_name(install_plugin: InstallPlugin) -> None:
    install_plugin("acme", "acme_first", GOOD)
    install_plugin("copycat", "copycat_mod", GOOD)
    with Hybrid() as system:
        first, second = record(system, "acme"), record(system, "copycat")
        (provider,) = system.providers("text.upper")
    assert first["status"] == "loaded" and provider.origin == "acme"
    assert second["status"] == "failed"
    assert "'acme.upper' is registered by both 'acme' and 'copycat'" in str(second["error"])


def test_unknown_hook_name_gets_a_did_you_mean(install_plugin: InstallPlugin) -> None:
    source = "import hybrid_core\n@hybrid_core.hookimpl\ndef hybrid_engine():\n    return []\n"
    install_plugin("typo", "typo_hook", source)
    with Hybrid() as system:
        rec = record(system, "typo")
    assert rec["status"] == "failed"
    assert "unknown hook 'hybrid_engine' (did you mean 'hybrid_engines'?)" in str(rec["error"])


def test_hook_with_wrong_argument_names(install_plugin: InstallPlugin) -> None:
    source = (
        "import hybrid_core\n@hybrid_core.hookimpl\n"
        "def hybrid_telemetry_sinks(config):\n    return []\n"
    )
    install_plugin("args", "wrong_args", source)
    with Hybrid() as system:
        rec = record(system, "args")
    assert rec["status"] == "failed" and "config" in str(rec["error"])


def test_module_without_hooks_is_reported(install_plugin: InstallPlugin) -> None:
    install_plugin("empty", "empty_mod", "X = 1\n")
    with Hybrid() as system:
        assert "implements no hook" in str(record(system, "empty")["error"])


def test_env_var_selects_plugins_and_reports_missing_ones(
    install_plugin: InstallPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin("acme", "acme_env", GOOD)
    install_plugin("other", "other_env", engines_plugin("    return []"))
    monkeypatch.setenv("HYBRID_CORE_PLUGINS", "acme, acmee")
    with Hybrid() as system:
        assert record(system, "acme")["status"] == "loaded"
        assert record(system, "other")["status"] == "disabled"
        missing = record(system, "acmee")
    assert missing["status"] == "failed"
    assert "HYBRID_CORE_PLUGINS but not installed (did you mean 'acme'?)" in str(missing["error"])


def test_empty_env_var_loads_no_external_plugin(
    install_plugin: InstallPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin("acme", "acme_none", GOOD)
    monkeypatch.setenv("HYBRID_CORE_PLUGINS", "")
    with Hybrid() as system:
        assert record(system, "acme")["status"] == "disabled"
        assert record(system, "builtin")["status"] == "loaded"
        assert len(system.registry) == 0


def test_config_only_and_disable(install_plugin: InstallPlugin) -> None:
    install_plugin("acme", "acme_cfg", GOOD)
    install_plugin("other", "other_cfg", engines_plugin("    return []"))
    with Hybrid({"plugins": {"disable": ["acme"]}}) as system:
        assert record(system, "acme")["status"] == "disabled"
        assert record(system, "other")["status"] == "loaded"
    with Hybrid({"plugins": {"only": ["acme"]}}) as system:
        assert record(system, "other")["status"] == "disabled"


def test_strict_mode_turns_failures_into_an_error(install_plugin: InstallPlugin) -> None:
    install_plugin("broken", "broken_strict", "import nope_nope\n")
    install_plugin("acme", "acme_strict", GOOD)
    with pytest.raises(PluginError, match=r"broken: plugin 'broken': failed to import"):
        Hybrid(strict=True).start()
    with pytest.raises(PluginError):
        Hybrid({"plugins": {"strict": True}}).start()


def test_no_entry_points_means_no_scan(install_plugin: InstallPlugin) -> None:
    install_plugin("acme", "acme_skip", GOOD)
    with Hybrid(entry_points=False) as system:
        assert [r.name for r in system.plugins] == ["builtin"]


IMPOSTOR = engines_plugin(
    "    return [hybrid_core.Engine(name='real.lint', capabilities={'x.lint': 1}, handler=handler)]"
)
REAL = engines_plugin(
    "    return [hybrid_core.Engine(name='real.lint', capabilities={'x.lint': 5},\n"
    "                               handler=handler),\n"
    "            hybrid_core.Engine(name='real.symbols', capabilities={'x.symbols': 5},\n"
    "                               handler=handler)]"
)


def test_a_missing_capability_names_the_failed_plugin_that_would_serve_it(
    install_plugin: InstallPlugin,
) -> None:
    # Entry points load in name order: the impostor takes the name first.
    install_plugin("aaa_impostor", "impostor_mod", IMPOSTOR)
    install_plugin("real", "real_mod", REAL)
    with Hybrid() as system:
        assert record(system, "real")["status"] == "failed"
        with pytest.raises(UnknownCapabilityError) as info:
            system.execute("x.symbols", {})
    message = str(info.value)
    assert "plugin 'real', which would serve it, failed to load" in message
    assert "real.lint" in message  # the cause: the name the impostor took
    assert "fix or disable that plugin" in message


def test_a_plugin_that_failed_to_import_may_explain_any_missing_capability(
    install_plugin: InstallPlugin,
) -> None:
    install_plugin("broken", "broken_again", "import does_not_exist_anywhere\n")
    with Hybrid() as system, pytest.raises(UnknownCapabilityError) as info:
        system.registry.require("x.anything")
    assert info.value.causes == (
        "plugin 'broken' failed to load and may have provided it: failed to import "
        "'broken_again': ModuleNotFoundError: No module named 'does_not_exist_anywhere'",
    )


def test_with_every_plugin_healthy_the_message_says_what_to_install() -> None:
    with Hybrid(entry_points=False) as system, pytest.raises(LookupError) as info:
        system.registry.require("x.nothing")
    assert "install or enable a plugin that provides it" in str(info.value)
