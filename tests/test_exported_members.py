"""The public surface is what ``__all__`` says, sorted, and every name exists."""

from __future__ import annotations

import hybrid_core
from hybrid_core import exceptions, hookspecs, testing


def test_all_is_sorted_and_complete() -> None:
    for module in (hybrid_core, exceptions, hookspecs, testing):
        names = module.__all__
        assert names == sorted(names), f"{module.__name__}.__all__ is not sorted"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_public_exceptions_share_one_root() -> None:
    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, hybrid_core.HybridCoreError), name
            assert getattr(hybrid_core, name, obj) is obj


def test_error_subclasses_the_builtin_it_means() -> None:
    assert issubclass(hybrid_core.ConfigError, ValueError)
    assert issubclass(hybrid_core.UnknownCapabilityError, LookupError)
    assert issubclass(hybrid_core.DeadlineExceeded, TimeoutError)
    assert issubclass(hybrid_core.PluginLoadError, ImportError)
