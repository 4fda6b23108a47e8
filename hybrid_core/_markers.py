"""The pluggy markers of the ``hybrid_core`` project."""

from __future__ import annotations

import pluggy

PROJECT = "hybrid_core"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
