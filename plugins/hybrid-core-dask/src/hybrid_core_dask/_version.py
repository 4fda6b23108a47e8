"""The distribution's version, kept in one place for the executor and the build."""

from __future__ import annotations

__version__ = "0.1.0"
