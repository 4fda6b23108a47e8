"""The library's logger: loguru, disabled for ``hybrid_core`` until a host enables it.

Every module that logs imports ``logger`` from here, so the disabling happens before the
first message whichever module loads first, and ``import hybrid_core`` alone does not
load loguru at all.
"""

from __future__ import annotations

from loguru import logger

__all__ = ["logger"]

logger.disable("hybrid_core")
