"""The library's logger: loguru, disabled for ``hybrid_core`` unless a host enabled it.

Every module that logs imports ``logger`` from here, so the disabling happens before the
first message whichever module loads first, and ``import hybrid_core`` alone does not
load loguru at all. Since this module loads late (when a system starts, say), a host may
already have called ``logger.enable("hybrid_core")`` (or ``disable``) by then: its
choice stands, as loguru's convention (disable once, let the host decide) intends.
"""

from __future__ import annotations

from loguru import logger

__all__ = ["logger"]


def _host_decided(name: str) -> bool:
    """True when loguru already has an enable/disable rule for ``name`` or a parent."""
    rules = getattr(getattr(logger, "_core", None), "activation_list", None)
    if not isinstance(rules, list):
        return False  # a loguru without the list: disable, as before
    prefix = name + "."
    return any(
        isinstance(rule, tuple) and isinstance(rule[0], str) and prefix.startswith(rule[0])
        for rule in rules
    )


if not _host_decided("hybrid_core"):
    logger.disable("hybrid_core")
