"""Shared fixtures: a clean plugin environment and real distributions on sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hybrid_core._plugins.manager import ENV_VAR, scan_entry_points


@pytest.fixture(autouse=True)
def _no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start with no plugin selection from the developer's environment."""
    monkeypatch.delenv(ENV_VAR, raising=False)


InstallPlugin = Callable[..., Path]


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPlugin]:
    """Write a real distribution (module + .dist-info with entry points) onto sys.path.

    ``importlib.metadata`` finds it exactly as it finds a pip-installed one. Returns a
    function ``install(entry_name, module_name, source, dist=..., version=...)``.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(
        entry_name: str,
        module_name: str,
        source: str,
        *,
        dist: str | None = None,
        version: str = "1.0",
        value: str | None = None,
    ) -> Path:
        dist = dist or f"{module_name.replace('_', '-')}"
        (site / f"{module_name}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        eps = info / "entry_points.txt"
        previous = eps.read_text() if eps.exists() else "[hybrid_core]\n"
        eps.write_text(previous + f"{entry_name} = {value or module_name}\n")
        modules.append(module_name)
        scan_entry_points(refresh=True)
        return site

    yield install
    for name in modules:
        sys.modules.pop(name, None)
    monkeypatch.undo()
    scan_entry_points(refresh=True)
