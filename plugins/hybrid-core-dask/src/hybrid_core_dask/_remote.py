"""What runs on a Dask worker: one call, sent as the bytes the driver pickled.

The driver pickles each call itself (with cloudpickle, as Dask would), so that a call
that cannot travel fails before anything is submitted, with a message naming the part
that cannot; the worker only unpickles and calls.
"""

from __future__ import annotations

import pickle
from typing import Any

__all__ = ["run_call"]


def run_call(blob: bytes) -> Any:
    """Unpickle ``(fn, args, kwargs)`` and return ``fn(*args, **kwargs)``."""
    fn, args, kwargs = pickle.loads(blob)
    return fn(*args, **kwargs)
