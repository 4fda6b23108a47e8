"""The distribution's version and its plugin's name, kept in one place."""

from __future__ import annotations

__version__ = "0.1.0"

# The entry point's name; payload errors start with "pyanalysis payload".
PLUGIN = "pyanalysis"
