"""Checks of a run's inputs and options, made before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._core.util import close_matches
from ..exceptions import WorkflowInputError

if TYPE_CHECKING:
    from .definition import Workflow

__all__ = ["check_inputs", "check_options"]


def check_inputs(workflow: Workflow, inputs: Mapping[str, Any]) -> None:
    """Raise WorkflowInputError naming every missing and unknown input (with did-you-mean)."""
    expected = workflow.inputs
    if len(inputs) == len(expected) and all(name in inputs for name in expected):
        return
    missing = [name for name in expected if name not in inputs]
    unexpected = [name for name in inputs if name not in expected]
    if not missing and not unexpected:
        return
    hints = {name: close_matches(name, expected, n=2) for name in unexpected}
    raise WorkflowInputError(
        workflow.name,
        expected=expected,
        missing=missing,
        unexpected=unexpected,
        suggestions=hints,
    )


def _seconds(name: str, value: object, *, zero_ok: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be {'>= 0' if zero_ok else '> 0'} seconds, not {value!r}")


def check_options(*, max_concurrency: int | None, timeout: float | None, halt_grace: float) -> None:
    """Raise TypeError/ValueError, saying how to fix it, for a malformed run option."""
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise ValueError(f"max_concurrency must be an int >= 1 or None, not {max_concurrency!r}")
    _seconds("timeout", timeout, zero_ok=False)
    _seconds("halt_grace", halt_grace, zero_ok=True)
