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


def test_every_error_survives_pickling_with_its_attributes() -> None:
    """Errors raised in worker processes travel back pickled; none may break on the way."""
    import inspect
    import pickle

    samples = {
        "AllProvidersFailed": exceptions.AllProvidersFailed("c.x", [("a", ValueError("v"))], "why"),
        "EngineTimeout": exceptions.EngineTimeout("e", 1.5),
        "UnknownStrategyError": exceptions.UnknownStrategyError("x", ["priority"]),
        "DuplicateProviderError": exceptions.DuplicateProviderError("n", "a", "b"),
        "PluginHookError": exceptions.PluginHookError("p", "hybrid_engines", "raised"),
        "ResourceError": exceptions.ResourceError("cpu", 3, 2, owner="engine 'e'"),
        "ConfigError": exceptions.ConfigError([exceptions.ConfigProblem("f", "k", "m")]),
        "StepFailed": exceptions.StepFailed("s", attempts=2, cause=ValueError("v")),
        "WorkflowInputError": exceptions.WorkflowInputError("w", expected=["a"], missing=["a"]),
        "UndoFailed": exceptions.UndoFailed("s", ValueError("v")),
        "StepTimeout": exceptions.StepTimeout("s", 2.0),
    }
    checked = 0
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            continue
        error = samples.get(name)
        if error is None:
            try:
                error = cls("message")
            except TypeError:
                params = inspect.signature(cls).parameters.values()
                positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
                error = cls(*[None if p.name == "result" else "x" for p in positional
                              if p.default is p.empty])  # fmt: skip
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and str(copy) == str(error), name
        assert copy.__dict__.keys() == error.__dict__.keys(), name
        checked += 1
    assert checked >= 20
