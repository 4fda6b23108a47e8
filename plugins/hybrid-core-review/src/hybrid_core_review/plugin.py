"""The ``review`` plugin: ships the code-review workflow as ``workflows.toml``.

The workflow (``review``, and ``review_file`` for one file) is declared in TOML beside
this module and calls the functions of :mod:`hybrid_core_review`; hybrid_core builds it
once every plugin has registered the engines it routes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import hybrid_core

__all__ = ["WORKFLOWS", "hybrid_workflows"]

WORKFLOWS = files("hybrid_core_review") / "workflows.toml"


@hybrid_core.hookimpl
def hybrid_workflows() -> Sequence[Any]:
    """The review workflows, as the TOML file this distribution ships."""
    return [WORKFLOWS]
