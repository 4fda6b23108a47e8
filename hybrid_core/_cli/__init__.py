"""The ``hybrid`` command line (click). ``import hybrid_core`` never imports this layer.

It may import every layer below it, the public ``hybrid_core`` names included; only
``__main__`` sits above. ``main``, the console script's target, loads ``app`` (and click)
on first use, so importing a sibling such as ``visual`` costs no click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import main

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from .interrupt import exit_on_signals_while_loading

        exit_on_signals_while_loading()  # main replaces these handlers when it starts
        from .app import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
