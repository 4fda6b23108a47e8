"""The ``hybrid_core`` project's name, version and pluggy markers."""

from __future__ import annotations

import pluggy

PROJECT = "hybrid_core"
# ``hybrid_core.__version__``, kept in this leaf so that any layer can read it without
# importing the package's front (the same number as in pyproject.toml).
VERSION = "0.1.0"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
