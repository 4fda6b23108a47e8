"""hybrid_core_pyanalysis: ``python.complexity`` by radon and ``python.lint`` by pyflakes.

The entry point ``pyanalysis`` of the group ``hybrid_core`` names this module; its hook
:func:`hybrid_engines` gives two engines at priority 20, preferred over the stdlib
engines of hybrid-core-pyast (priority 10), which stay installed as their fallback.
Payloads and result shapes are hybrid-core-pyast's. The handlers are CPU-bound pure
Python, so the engines run them in the system's worker processes (``process=True``).
"""

from __future__ import annotations

import hybrid_core
import pyflakes
import radon

from ._complexity import run_complexity
from ._lint import run_lint
from ._version import __version__

__all__ = ["__version__", "hybrid_engines", "run_complexity", "run_lint"]

# Above hybrid-core-pyast's 10: the priority strategy prefers these, and falls back there.
_PRIORITY = 20


@hybrid_core.hookimpl
def hybrid_engines() -> list[hybrid_core.Engine]:
    """The radon and pyflakes engines."""
    return [
        hybrid_core.Engine(
            name="radon.complexity",
            capabilities={"python.complexity": _PRIORITY},
            handler=run_complexity,
            version=__version__,
            description="Cyclomatic complexity per function by radon, with ranks and totals.",
            process=True,
            affinity_key="path",
            metadata={"library": "radon", "library_version": str(radon.__version__)},
        ),
        hybrid_core.Engine(
            name="pyflakes.lint",
            capabilities={"python.lint": _PRIORITY},
            handler=run_lint,
            version=__version__,
            description="pyflakes' problems: unused imports, undefined names, redefinitions.",
            process=True,
            affinity_key="path",
            metadata={"library": "pyflakes", "library_version": str(pyflakes.__version__)},
        ),
    ]
