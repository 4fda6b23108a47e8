"""The ``hybrid_core`` project's name, version and pluggy markers."""

from __future__ import annotations

import pluggy

PROJECT = "hybrid_core"
# The one place the version is written: ``hybrid_core.__version__`` and pyproject.toml
# read it from here, and so can any layer without importing the package's front.
VERSION = "0.1.0"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
