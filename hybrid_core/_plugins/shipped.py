"""Workflows a plugin ships as TOML files, and the listing of every runnable workflow.

``hybrid_workflows()`` may return, beside ``Workflow`` objects, the TOML files a plugin
ships as package data (``importlib.resources.files(__package__) / "workflows.toml"``).
They are built after every plugin has registered its engines, because a workflow names
capabilities that other plugins serve, and with the configuration's own builder, so a
mistake in one reads exactly like a mistake in ``hybrid.toml``. A file with any problem
fails its plugin: the plugin is recorded as failed, and the others keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._config.compose import join_key
from .._config.packaged import is_workflow_file, read_workflow_file, shown_name
from .._core.records import Provider
from .._core.registry import Registry
from ..exceptions import ConfigProblem, PluginValidationError
from .manager import PluginRecord

if TYPE_CHECKING:  # declare loads when a workflow file is built: most runs have none
    from .._config.declare import Declared

__all__ = ["Shipped", "build_shipped", "describe_workflow", "split_workflows"]


def split_workflows(items: Iterable[Any]) -> tuple[list[Any], list[object]]:
    """``hybrid_workflows()``'s items as (workflow objects, workflow files)."""
    objects: list[Any] = []
    files: list[object] = []
    for item in items:
        (files if is_workflow_file(item) else objects).append(item)
    return objects, files


@attrs.frozen
class Shipped:
    """A workflow built from a plugin's file: ``file`` is its path in the distribution."""

    declared: Declared
    file: str


def build_shipped(
    record: PluginRecord, files: Sequence[object], registry: Registry, strategies: Sequence[str]
) -> dict[str, Shipped]:
    """Build every workflow of a plugin's files; raise naming each problem if any."""
    built: dict[str, Shipped] = {}
    problems: list[ConfigProblem] = []
    tables: dict[str, tuple[str, Any]] = {}
    for item in files:
        name = shown_name(item)
        found, shape = read_workflow_file(item, name)
        problems += shape
        for workflow, table in found.items():
            if workflow in tables:
                message = f"is declared in {tables[workflow][0]} too; rename one"
                problems.append(ConfigProblem(name, join_key(("workflows", workflow)), message))
            tables[str(workflow)] = (name, table)
    if not problems:
        prefixes = {join_key(("workflows", n)): file for n, (file, _) in tables.items()}

        def origin(key: str) -> str:
            for prefix, file in prefixes.items():
                if key == prefix or key.startswith((prefix + ".", prefix + "[")):
                    return file
            return shown_name(files[0])

        from .._config.declare import build_workflows

        declared = build_workflows(
            {name: table for name, (_, table) in tables.items()}, registry, strategies,
            origin=origin,
        )  # fmt: skip
        problems += declared.problems
        built = {n: Shipped(d, tables[n][0]) for n, d in declared.built.items()}
    if problems:
        where = f" ({record.distribution} {record.version})" if record.distribution else ""
        raise PluginValidationError(
            record.name,
            f"its workflow file{where} is not valid: " + "; ".join(map(str, problems)),
        )
    return built


def describe_workflow(provider: Provider, declared: Mapping[str, Shipped]) -> dict[str, Any]:
    """One registered workflow as ``hybrid workflows --json`` shows it; ``file`` is the
    TOML file that declared it (None for one a plugin built in Python)."""
    found = declared.get(provider.name)
    descriptions = found.declared.descriptions if found is not None else {}
    file = found.file if found is not None else None
    target = provider.target
    defaults: Mapping[str, Any] = getattr(target, "defaults", None) or {}
    inputs = [
        {
            "name": name,
            "required": name not in defaults,
            "default": defaults.get(name),
            "description": descriptions.get(name, ""),
        }
        for name in getattr(target, "inputs", ())
    ]
    return {
        "name": provider.name,
        "origin": provider.origin,
        "file": file,
        "description": getattr(target, "description", "") or "",
        "capabilities": dict(provider.capabilities),
        "inputs": inputs,
    }
