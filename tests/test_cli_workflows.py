"""``hybrid workflows``, ``hybrid list KIND`` and ``-p MODULE``, through the real CLI.

The workflow-shipping plugin is built and pip-installed into a target folder, as its
users would install it, and run from an empty folder with no configuration file.
"""

from __future__ import annotations

import json
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest
from clitools import pip_install_into, run_hybrid

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-flows"
version = "1.2.0"
dependencies = ["hybrid-core"]

[project.entry-points.hybrid_core]
acme = "acme_flows.plugin"

[tool.setuptools]
packages = ["acme_flows"]

[tool.setuptools.package-data]
acme_flows = ["workflows.toml"]
"""

INIT = """
def shout(text, times):
    return (text.upper() + "!") * times
"""

PLUGIN = """
from importlib.resources import files

import hybrid_core


@hybrid_core.hookimpl
def hybrid_workflows():
    return [files("acme_flows") / "workflows.toml"]
"""

FLOWS = """
[workflows.shout]
description = "Shout a text"
returns = "loud"

[workflows.shout.inputs]
text = { description = "what to shout" }
times = { default = 1 }

[workflows.shout.steps.loud]
call = "acme_flows:shout"
args = { text = { input = "text" }, times = { input = "times" } }
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building a distribution needs setuptools")
    source = tmp_path_factory.mktemp("acme-flows-src")
    (source / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    package = source / "acme_flows"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(INIT))
    (package / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    (package / "workflows.toml").write_text(textwrap.dedent(FLOWS))
    return pip_install_into(source, tmp_path_factory.mktemp("acme-flows-target"))


def _env(installed: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(installed), "HYBRID_CORE_PLUGINS": "acme"}


def test_an_installed_plugins_workflow_runs_in_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    ran = run_hybrid("run", "shout", "-i", "text=hi", "-i", "times:=2", "--json",
                     cwd=tmp_path, env=_env(installed))  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["value"] == "HI!HI!"
    assert "no configuration file; using the defaults" in ran.stderr


def test_workflows_lists_origin_file_description_and_inputs(
    installed: Path, tmp_path: Path
) -> None:
    listed = run_hybrid("workflows", "--json", cwd=tmp_path, env=_env(installed))
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {
            "name": "shout",
            "origin": "acme",
            "file": "acme_flows/workflows.toml",
            "description": "Shout a text",
            "capabilities": {},
            "inputs": [
                {"name": "text", "required": True, "default": None,
                 "description": "what to shout"},
                {"name": "times", "required": False, "default": 1, "description": ""},
            ],
        }
    ]  # fmt: skip
    text = run_hybrid("workflows", cwd=tmp_path, env=_env(installed)).stdout.splitlines()
    assert text == [
        "shout  (plugin acme, acme_flows/workflows.toml)",
        "  Shout a text",
        "  --input text=...  required; what to shout",
        "  --input times=...  default 1",
    ]


def test_a_configured_workflow_is_listed_with_its_file(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "hybrid.toml"
    config.write_text('[workflows.twice]\ninputs = ["text"]\nreturns = "s"\n'
                      '[workflows.twice.steps.s]\nworkflow = "shout"\n'
                      'args = { text = { input = "text" }, times = 3 }\n')  # fmt: skip
    listed = run_hybrid("list", "workflows", "--json", cwd=tmp_path, env=_env(installed))
    assert listed.returncode == 0, listed.stderr
    found = {w["name"]: (w["origin"], w["file"]) for w in json.loads(listed.stdout)}
    assert found == {"shout": ("acme", "acme_flows/workflows.toml"),
                     "twice": ("config", str(config.resolve()))}  # fmt: skip


def test_an_unknown_workflow_names_the_known_ones_and_the_search(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()  # the search stops here
    ran = run_hybrid("run", "shuot", cwd=tmp_path, env=_env(installed))
    assert ran.returncode == 2
    (error,) = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        "error: no workflow is named 'shuot' (did you mean 'shout'?); known workflows: "
        "shout (plugin acme); no configuration file was found (searched for hybrid.toml, "
        f"and pyproject.toml with [tool.hybrid], in {tmp_path.resolve()})"
    )
    (tmp_path / "hybrid.toml").write_text("[routing]\nretries = 1\n")
    ran = run_hybrid("run", "nothing", cwd=tmp_path, env=_env(installed))
    assert ran.returncode == 2
    found = f"configuration read: {(tmp_path / 'hybrid.toml').resolve()} (found from the current"
    assert found in ran.stderr and "did you mean" not in ran.stderr


DEV = """
import hybrid_core
from pathlib import Path


def dev_run(text, times):
    return text * times


class Fastest:
    name = "fastest"

    def order(self, candidates, request):
        return list(candidates)


class DevSink:
    name = "devsink"

    def handle(self, event):
        pass

    def flush(self):
        pass

    def close(self):
        pass


@hybrid_core.hookimpl
def hybrid_routing_strategies():
    return [Fastest()]


@hybrid_core.hookimpl
def hybrid_telemetry_sinks(settings):
    # Documented keys: "sinks" is there even with no configuration file.
    return [DevSink()] if "devsink" in settings["sinks"] else []


@hybrid_core.hookimpl
def hybrid_executors(settings):
    assert settings["name"] == "local", settings
    return []


@hybrid_core.hookimpl
def hybrid_workflows():
    return [Path(__file__).with_name("dev_flows.toml")]
"""


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    (tmp_path / "dev_plugin.py").write_text(textwrap.dedent(DEV))
    (tmp_path / "dev_flows.toml").write_text(
        FLOWS.replace("[workflows.shout", "[workflows.dev").replace(
            "acme_flows:shout", "dev_plugin:dev_run")
    )
    return tmp_path


def test_dash_p_loads_a_module_from_the_current_folder(dev: Path) -> None:
    env = {"HYBRID_CORE_PLUGINS": ""}
    listed = run_hybrid("-p", "dev_plugin", "list", "strategies", "--json", cwd=dev, env=env)
    assert listed.returncode == 0, listed.stderr
    assert {"name": "fastest", "plugin": "dev_plugin"} in json.loads(listed.stdout)
    after = run_hybrid("workflows", "-p", "dev_plugin", "--json", cwd=dev, env=env)
    assert after.returncode == 0, after.stderr
    assert [(w["name"], w["origin"]) for w in json.loads(after.stdout)] == [
        ("dev", "dev_plugin")
    ]
    plugins = json.loads(run_hybrid("-p", "dev_plugin", "plugins", "--json", cwd=dev,
                                    env=env).stdout)  # fmt: skip
    (record,) = [p for p in plugins if p["name"] == "dev_plugin"]
    assert record["status"] == "loaded" and record["source"] == "explicit", record


def test_list_sinks_shows_a_configured_plugin_sink_with_its_plugin(dev: Path) -> None:
    (dev / "hybrid.toml").write_text('[telemetry]\nsinks = ["devsink", "memory"]\n')
    listed = run_hybrid("-p", "dev_plugin", "list", "sinks", cwd=dev,
                        env={"HYBRID_CORE_PLUGINS": ""})  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["name", "plugin"]
    assert ["devsink", "dev_plugin"] in rows and ["memory", "builtin"] in rows


def test_a_module_that_does_not_import_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken_dev.py").write_text("1 / 0\n")
    for name, why in (("nosuch_dev", "ModuleNotFoundError"), ("broken_dev", "ZeroDivision")):
        ran = run_hybrid("-p", name, "plugins", cwd=tmp_path)
        assert ran.returncode == 2
        assert ran.stderr.startswith(f"error: -p {name}: the plugin module does not import ")
        assert why in ran.stderr and len(ran.stderr.splitlines()) == 1, ran.stderr


def test_a_broken_workflow_file_is_a_plugin_failure_not_a_crash(dev: Path) -> None:
    (dev / "dev_flows.toml").write_text(FLOWS.replace("acme_flows:shout", "dev_plugin:dev_rn"))
    env = {"HYBRID_CORE_PLUGINS": ""}
    plugins = run_hybrid("-p", "dev_plugin", "plugins", "--json", cwd=dev, env=env)
    assert plugins.returncode == 0, plugins.stderr
    (record,) = [p for p in json.loads(plugins.stdout) if p["name"] == "dev_plugin"]
    assert record["status"] == "failed"
    assert f"{dev / 'dev_flows.toml'}: workflows.shout.steps.loud.call: 'dev_plugin' has no " \
           "'dev_rn' (did you mean 'dev_run'?)" in record["error"]  # fmt: skip
    ran = run_hybrid("-p", "dev_plugin", "run", "shout", cwd=dev, env=env)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert "plugins that failed to load may have provided it: 'dev_plugin'" in ran.stderr


def test_list_kinds(installed: Path, tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(installed)}
    engines = run_hybrid("list", "engines", "--json", cwd=tmp_path, env=env)
    assert engines.returncode == 0, engines.stderr
    for row in json.loads(engines.stdout):
        assert set(row) == {"name", "plugin", "version", "max_concurrency", "capabilities"}
    executors = json.loads(run_hybrid("list", "executors", "--json", cwd=tmp_path).stdout)
    assert {"name": "local", "plugin": "builtin", "chosen": True} in executors
    codecs = json.loads(run_hybrid("list", "codecs", "--json", cwd=tmp_path).stdout)
    assert [c["name"] for c in codecs if c["plugin"] == "builtin"] == ["json", "pickle"]
    bad = run_hybrid("list", "engnes", cwd=tmp_path)
    assert bad.returncode == 2 and "'engnes' is not one of" in bad.stderr


@pytest.mark.skipif(
    find_spec("hybrid_core_review") is None or find_spec("hybrid_core_pyast") is None,
    reason="needs the review and pyast plugins pip-installed (tox)",
)
def test_the_review_runs_with_no_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def f(x):\n    return x\n")
    ran = run_hybrid("run", "review", "--input", "path=src/", "--no-journal", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "no configuration file; using the defaults" in ran.stderr
    report = json.loads((tmp_path / "review-report" / "report.json").read_text())
    assert report["totals"]["files"] == 1
    listed = json.loads(run_hybrid("workflows", "--json", cwd=tmp_path).stdout)
    review = next(w for w in listed if w["name"] == "review")
    assert (review["origin"], review["file"]) == ("review", "hybrid_core_review/workflows.toml")
