"""The exception tree of hybrid_core.

Every error the package raises on purpose derives from :class:`HybridCoreError`::

    HybridCoreError
    ├── ConfigError (ValueError)              a config file or mapping is wrong
    ├── PluginError                           a plugin could not be used
    │   ├── PluginLoadError (ImportError)     its module failed to import
    │   ├── PluginHookError                   a hook raised
    │   └── PluginValidationError (TypeError) a hook returned something malformed
    ├── RegistryError                         the capability registry refused something
    │   ├── CapabilityNameError (ValueError)  a capability name is not a dotted identifier
    │   ├── DuplicateProviderError (ValueError) two providers share a name
    │   └── UnknownCapabilityError (LookupError) nobody provides a capability
    ├── ContextError                          the execution context stopped the work
    │   ├── DeadlineExceeded (TimeoutError)   the deadline passed
    │   └── Cancelled                         the context was cancelled
    └── SystemStateError (RuntimeError)       the system was used before start or after close

Each error carries the names it is about as attributes, and its message says what was
wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "Cancelled",
    "CapabilityNameError",
    "ConfigError",
    "ConfigProblem",
    "ContextError",
    "DeadlineExceeded",
    "DuplicateProviderError",
    "HybridCoreError",
    "PluginError",
    "PluginHookError",
    "PluginLoadError",
    "PluginValidationError",
    "RegistryError",
    "SystemStateError",
    "UnknownCapabilityError",
]


class HybridCoreError(Exception):
    """Root of every error hybrid_core raises on purpose."""


class ConfigProblem:
    """One problem found in a configuration: where it is and what is wrong."""

    __slots__ = ("file", "key", "message")

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigProblem):
            return NotImplemented
        return (self.file, self.key, self.message) == (other.file, other.key, other.message)

    def __hash__(self) -> int:
        return hash((self.file, self.key, self.message))


class ConfigError(HybridCoreError, ValueError):
    """A configuration is wrong; ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PluginError(HybridCoreError):
    """A plugin could not be used; ``plugin`` names it."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class PluginLoadError(PluginError, ImportError):
    """A plugin's module or object failed to import."""


class PluginHookError(PluginError):
    """A plugin's hook raised; ``hook`` names it and the cause is chained."""

    def __init__(self, plugin: str, hook: str, message: str) -> None:
        self.hook = hook
        super().__init__(plugin, f"hook {hook}() {message}")


class PluginValidationError(PluginError, TypeError):
    """A plugin's hook returned something that is not what the hook promises."""


class RegistryError(HybridCoreError):
    """The capability registry refused an operation."""


class CapabilityNameError(RegistryError, ValueError):
    """A capability name is not a dotted identifier such as ``python.complexity``."""

    def __init__(self, name: object, *, owner: str = "") -> None:
        self.name = name
        self.owner = owner
        by = f" (from {owner})" if owner else ""
        super().__init__(
            f"capability name {name!r}{by} is not a dotted identifier; "
            "use letters, digits and underscores separated by dots, e.g. 'python.complexity'"
        )


class DuplicateProviderError(RegistryError, ValueError):
    """Two providers were registered under one name; both origins are named."""

    def __init__(self, name: str, first_origin: str, second_origin: str) -> None:
        self.name = name
        self.first_origin = first_origin
        self.second_origin = second_origin
        super().__init__(
            f"provider name {name!r} is registered by both {first_origin!r} and "
            f"{second_origin!r}; rename one of them or disable one plugin"
        )


class UnknownCapabilityError(RegistryError, LookupError):
    """Nobody provides the capability; ``suggestions`` holds the closest known names."""

    def __init__(self, capability: str, suggestions: Sequence[str] = ()) -> None:
        self.capability = capability
        self.suggestions = tuple(suggestions)
        hint = f" (did you mean {', '.join(map(repr, self.suggestions))}?)" if suggestions else ""
        super().__init__(
            f"no provider serves capability {capability!r}{hint}; "
            "install or enable a plugin that provides it ('hybrid capabilities' lists them)"
        )

    def __str__(self) -> str:
        # LookupError would otherwise repr() the message like KeyError does.
        return str(self.args[0])


class ContextError(HybridCoreError):
    """The execution context stopped the work."""


class DeadlineExceeded(ContextError, TimeoutError):
    """The context's deadline passed before the work finished."""


class Cancelled(ContextError):
    """The context was cancelled; ``reason`` says why when the canceller said so."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"cancelled: {reason}" if reason else "cancelled")


class SystemStateError(HybridCoreError, RuntimeError):
    """The system was used in a state that does not allow it (before start, after close)."""
