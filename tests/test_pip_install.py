"""A plugin distribution installed with a real ``pip install`` shows up through its entry point.

This is the path a plugin author's users take: build the distribution, pip-install it,
run ``hybrid``. The distribution is installed into a fresh target folder (not the test
environment), which the ``hybrid`` subprocess gets on its PYTHONPATH.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clitools import run_hybrid

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-hybrid-plugin"
version = "2.5.0"
dependencies = ["hybrid-core"]

[project.entry-points.hybrid_core]
acme = "acme_plugin"
"""

MODULE = """
import hybrid_core


def upper(payload):
    return str(payload).upper()


@hybrid_core.hookimpl
def hybrid_engines():
    return [hybrid_core.Engine(name="acme.upper", capabilities={"text.upper": 10},
                               handler=upper)]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building a distribution needs setuptools")
    source = tmp_path_factory.mktemp("acme-src")
    (source / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (source / "acme_plugin.py").write_text(textwrap.dedent(MODULE))
    target = tmp_path_factory.mktemp("acme-target")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return target


def test_pip_installed_plugin_is_discovered(installed: Path) -> None:
    assert list(installed.glob("acme_hybrid_plugin-2.5.0.dist-info"))
    result = run_hybrid("plugins", "--json", env={"PYTHONPATH": str(installed)})
    assert result.returncode == 0, result.stderr
    acme = next(r for r in json.loads(result.stdout) if r["name"] == "acme")
    assert isinstance(acme.pop("import_seconds"), float)
    assert acme == {
        "name": "acme",
        "distribution": "acme-hybrid-plugin",
        "version": "2.5.0",
        "source": "entry-point",
        "value": "acme_plugin",
        "hooks": ["hybrid_engines"],
        "status": "loaded",
        "error": None,
    }


def test_pip_installed_plugin_serves_its_capability(installed: Path) -> None:
    result = run_hybrid("capabilities", "--json", env={"PYTHONPATH": str(installed)})
    listing = {e["capability"]: e["providers"] for e in json.loads(result.stdout)}
    assert listing["text.upper"][0]["name"] == "acme.upper"


def test_example_plugin_is_installed_and_discovered() -> None:
    """The tox environment pip-installs plugins/hybrid-core-pyast; it must be found."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("hybrid-core-pyast")
    except PackageNotFoundError:
        pytest.skip("hybrid-core-pyast is not installed in this environment (run tox)")
    result = run_hybrid("capabilities", "--json")
    listing = {e["capability"]: e["providers"] for e in json.loads(result.stdout)}
    for capability in ("python.parse", "python.symbols", "python.imports", "python.complexity"):
        assert any(p["origin"] == "pyast" for p in listing[capability]), capability
