"""Workflows a plugin ships as a TOML file inside its distribution.

The file holds ``[workflows.NAME]`` tables, exactly as a configuration file would, and
nothing else: a plugin's file cannot choose the user's executor or sinks. It is checked
by the same builder as a configuration's workflows, so every problem reads the same,
with the file named as ``package/file.toml`` (the path inside the distribution).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..exceptions import ConfigProblem
from .compose import MAX_CONFIG_BYTES, _parse, _Unusable, kind_of

__all__ = ["WorkflowFile", "is_workflow_file", "read_workflow_file", "shown_name"]


@runtime_checkable
class WorkflowFile(Protocol):
    """What ``importlib.resources.files(package) / "workflows.toml"`` gives."""

    @property
    def name(self) -> str: ...

    def read_bytes(self) -> bytes: ...


def is_workflow_file(item: object) -> bool:
    """True for a path or package resource whose name ends in ``.toml``."""
    if isinstance(item, os.PathLike):
        return str(os.fspath(item)).endswith(".toml")
    return isinstance(item, WorkflowFile) and str(item.name).endswith(".toml")


def shown_name(item: object) -> str:
    """``package/sub/file.toml``: the file's path from the top of its package, else the
    path itself (a file outside any package)."""
    try:
        path = Path(os.fspath(item))  # type: ignore[call-overload]
    except TypeError:
        return str(getattr(item, "name", item))
    top = path.parent
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return str(path.relative_to(top)) if top != path.parent else str(path)


def read_workflow_file(item: object, source: str) -> tuple[Mapping[str, Any], list[ConfigProblem]]:
    """The ``[workflows]`` tables of a plugin's file, and the problems of its shape."""
    try:
        raw = (
            Path(os.fspath(item)).read_bytes()
            if isinstance(item, os.PathLike)
            else item.read_bytes()  # type: ignore[attr-defined]
        )
    except OSError as exc:
        return {}, [ConfigProblem(source, "", f"cannot be read: {exc.strerror or exc}")]
    if len(raw) > MAX_CONFIG_BYTES:
        return {}, [ConfigProblem(source, "", f"is larger than {MAX_CONFIG_BYTES} bytes")]
    try:
        doc = _parse(raw)
    except _Unusable as exc:
        return {}, [ConfigProblem(source, exc.key, exc.message)]
    problems = [
        ConfigProblem(source, str(key), "a plugin's workflow file holds [workflows.NAME] "
                      "tables only; settings belong in the user's configuration")
        for key in doc
        if key != "workflows"
    ]  # fmt: skip
    tables = doc.get("workflows", {})
    if not isinstance(tables, Mapping):
        why = f"must be a table, not {kind_of(tables)}"
        problems.append(ConfigProblem(source, "workflows", why))
        return {}, problems
    if not tables and not problems:
        problems.append(ConfigProblem(source, "", "declares no workflow ([workflows.NAME])"))
    return tables, problems
