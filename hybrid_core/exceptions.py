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
    ├── SystemStateError (RuntimeError)       the system was used before start or after close
    ├── ExecutorError (RuntimeError)          the executor could not run a call (its cluster)
    │   └── WorkerLost                        ... the worker running it died or was lost
    ├── Halt                                  a step asks to halt its run (a signal, not a failure)
    ├── JournalError                          the run journal could not be used
    │   ├── JournalCodecError (TypeError)     a value cannot be stored by the journal's codec
    │   ├── UnknownRunError (LookupError)     no journaled run has that id
    │   ├── RunOwnedError                     another live process owns the run (its lease)
    │   └── DefinitionChangedError            the workflow changed since the run was journaled
    └── WorkflowError                         a workflow could not be defined or did not complete
        ├── WorkflowDefinitionError (ValueError) a workflow's definition has problems
        │   └── CycleError                    ... among them a dependency cycle
        ├── WorkflowInputError (TypeError)    a run was given missing or unknown inputs
        ├── StepError                         something went wrong with one named step
        │   ├── StepFailed                    a step failed for good; the cause is chained
        │   ├── StepTimeout (TimeoutError)    one attempt of a step ran out of time
        │   └── UndoFailed                    undoing a completed step raised
        └── WorkflowRunError                  a run did not succeed; ``result`` holds it all
            ├── WorkflowFailed                ... it failed
            ├── WorkflowHalted                ... a step halted it (it can be resumed)
            └── WorkflowCancelled             ... it was cancelled

Each error carries the names it is about as attributes, and its message says what was
wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "AllProvidersFailed",
    "Cancelled",
    "CapabilityNameError",
    "ConfigError",
    "ConfigProblem",
    "ContextError",
    "CycleError",
    "DeadlineExceeded",
    "DefinitionChangedError",
    "DefinitionProblem",
    "DuplicateProviderError",
    "EngineError",
    "EngineTimeout",
    "ExecutorError",
    "Halt",
    "HybridCoreError",
    "JournalCodecError",
    "JournalError",
    "PayloadError",
    "PluginError",
    "PluginHookError",
    "PluginLoadError",
    "PluginValidationError",
    "RegistryError",
    "ResourceError",
    "RoutingError",
    "RunOwnedError",
    "StepError",
    "StepFailed",
    "StepTimeout",
    "SystemStateError",
    "UndoFailed",
    "UnknownCapabilityError",
    "UnknownRunError",
    "UnknownStrategyError",
    "WorkerLost",
    "WorkflowCancelled",
    "WorkflowDefinitionError",
    "WorkflowError",
    "WorkflowFailed",
    "WorkflowHalted",
    "WorkflowInputError",
    "WorkflowRunError",
]


class HybridCoreError(Exception):
    """Root of every error hybrid_core raises on purpose.

    Every one pickles with its attributes (``__init__`` signatures vary), so an error
    raised in a worker process reaches the caller intact.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[HybridCoreError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


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
    """Nobody provides the capability; ``suggestions`` holds the closest known names.

    ``causes`` says why a provider may be missing: a plugin that would have served the
    capability, or might have, but failed to load.
    """

    def __init__(
        self, capability: str, suggestions: Sequence[str] = (), *, causes: Sequence[str] = ()
    ) -> None:
        self.capability = capability
        self.suggestions = tuple(suggestions)
        self.causes = tuple(causes)
        hint = f" (did you mean {', '.join(map(repr, self.suggestions))}?)" if suggestions else ""
        if self.causes:
            fix = "; ".join(self.causes) + "; fix or disable that plugin ('hybrid doctor')"
        else:
            fix = "install or enable a plugin that provides it ('hybrid capabilities' lists them)"
        super().__init__(f"no provider serves capability {capability!r}{hint}; {fix}")

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


class ExecutorError(HybridCoreError, RuntimeError):
    """The executor could not run a call: its cluster cannot be reached, or was lost.

    Infrastructure, not the call's own failure: the call's exception, when it raises one,
    reaches the caller with its own type instead. ``executor`` names the executor.
    """

    def __init__(self, executor: str, message: str) -> None:
        self.executor = executor
        super().__init__(executor, message)

    def __str__(self) -> str:
        return f"executor {self.args[0]!r}: {self.args[1]}"


class WorkerLost(ExecutorError):
    """The worker running a call died, or left, before the call returned.

    The call may or may not have run; the router retries it like any failed attempt (a
    step retries it when its ``RetryPolicy.retry_on`` includes ``WorkerLost``). ``call``
    is the call's key, when it has one.
    """

    def __init__(self, executor: str, message: str, call: str | None = None) -> None:
        self.call = call
        super().__init__(executor, message)
        self.args = (executor, message, call)


class RoutingError(HybridCoreError):
    """A request for a capability could not be served."""


class UnknownStrategyError(RoutingError, LookupError):
    """No routing strategy has the name asked for; ``known`` lists the ones there are."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        import difflib

        self.name = name
        self.known = tuple(sorted(known))
        close = difflib.get_close_matches(name, self.known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(self.known)}"
        super().__init__(f"no routing strategy is named {name!r} ({hint})")

    def __str__(self) -> str:
        return str(self.args[0])


class AllProvidersFailed(RoutingError):
    """Every attempt at a capability failed; ``attempts`` holds (provider, error) pairs.

    The message says which providers were tried, how often, and what each one raised.
    The last error is chained as ``__cause__``.
    """

    def __init__(
        self, capability: str, attempts: Sequence[tuple[str, BaseException]], why: str = ""
    ) -> None:
        self.capability = capability
        self.attempts = tuple(attempts)
        per_provider: dict[str, list[BaseException]] = {}
        for provider, error in self.attempts:
            per_provider.setdefault(provider, []).append(error)
        parts = [
            f"{name} ({len(errors)}x, last {type(errors[-1]).__name__}: {errors[-1]})"
            for name, errors in per_provider.items()
        ]
        tail = f"; {why}" if why else ""
        super().__init__(
            f"capability {capability!r} failed after {len(self.attempts)} attempt(s): "
            + "; ".join(parts)
            + tail
        )


class PayloadError(HybridCoreError, ValueError, TypeError):
    """The request's payload is wrong: the caller's fault, not the provider's.

    Engines raise it for bad input. The router neither retries it nor counts it against
    the provider's health, and it reaches the caller as it is.
    """


class EngineError(HybridCoreError):
    """An engine was called wrongly or misbehaved; ``engine`` names it."""

    def __init__(self, engine: str, message: str) -> None:
        self.engine = engine
        super().__init__(f"engine {engine!r}: {message}")


class EngineTimeout(EngineError, TimeoutError):
    """An engine call took longer than its timeout."""

    def __init__(self, engine: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(engine, f"call took longer than its timeout of {seconds:g}s")


class ResourceError(HybridCoreError, ValueError):
    """A resource need can never be met: it is larger than the whole pool."""

    def __init__(self, pool: str, amount: float, size: float, *, owner: str = "") -> None:
        self.pool = pool
        self.amount = amount
        self.size = size
        who = f"{owner} needs" if owner else "a call needs"
        super().__init__(
            f"{who} {amount:g} of resource pool {pool!r}, which holds only {size:g} in all; "
            f"enlarge [resources] {pool} or lower the need"
        )


class Halt(HybridCoreError):
    """A step asks to halt its run: raise it from a step; the run stops and can be resumed.

    A signal, not a failure: it is never retried or compensated, and nothing is undone.
    ``reason`` says why (it ends up in the run result's ``halt_reason``).
    """

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"halted: {reason}" if reason else "halted")


class JournalError(HybridCoreError):
    """The run journal could not be opened, read or written; the message says why and how."""


class JournalCodecError(JournalError, TypeError):
    """A step's result (or a run's inputs) cannot be stored by the journal's codec."""

    def __init__(self, message: str, *, path: str = "", type_name: str = "") -> None:
        self.path = path
        self.type_name = type_name
        super().__init__(message)


class UnknownRunError(JournalError, LookupError):
    """No run with this id is in the journal."""

    def __init__(self, message: str, *, run_id: str = "") -> None:
        self.run_id = run_id
        super().__init__(message)


class RunOwnedError(JournalError):
    """Another process holds the run's lease; it is running (or resuming) the run."""

    def __init__(self, message: str, *, run_id: str = "", owner: str = "") -> None:
        self.run_id = run_id
        self.owner = owner
        super().__init__(message)


class DefinitionChangedError(JournalError):
    """The workflow's definition changed since the run was journaled; ``steps`` changed."""

    def __init__(self, message: str, *, run_id: str = "", steps: Sequence[str] = ()) -> None:
        self.run_id = run_id
        self.steps = tuple(steps)
        super().__init__(message)


class WorkflowError(HybridCoreError):
    """A workflow could not be defined, or a run of it did not complete."""


class DefinitionProblem:
    """One problem in a workflow definition; ``kind`` says which sort.

    Kinds: ``duplicate_step``, ``duplicate_input``, ``unknown_step``, ``unknown_input``,
    ``unknown_return``, ``cycle`` (``cycle`` then holds the step names in data-flow order,
    the first repeated last), ``invalid_step`` (a step's own check failed, e.g. an argument
    its function does not take), ``nested`` (a problem of a workflow used by a step).
    ``suggestions`` holds did-you-mean names; ``missing``, for ``unknown_step`` and
    ``unknown_return``, the step name that is not there.
    """

    __slots__ = ("cycle", "kind", "message", "missing", "step", "suggestions")

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        step: str | None = None,
        suggestions: Sequence[str] = (),
        cycle: Sequence[str] = (),
        missing: str | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.missing = missing
        self.step = step
        self.suggestions = tuple(suggestions)
        self.cycle = tuple(cycle)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DefinitionProblem({self.kind!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DefinitionProblem):
            return NotImplemented
        return (self.kind, self.message, self.step) == (other.kind, other.message, other.step)

    def __hash__(self) -> int:
        return hash((self.kind, self.message, self.step))


class WorkflowDefinitionError(WorkflowError, ValueError):
    """A workflow's definition is wrong; ``problems`` lists every problem found at once."""

    def __init__(self, workflow: str, problems: Iterable[DefinitionProblem]) -> None:
        self.workflow = workflow
        self.problems: tuple[DefinitionProblem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        plural = "" if count == 1 else "s"
        super().__init__(f"workflow {workflow!r} has {count} problem{plural}:\n{lines}")


class CycleError(WorkflowDefinitionError):
    """Raised instead of WorkflowDefinitionError when a problem is a dependency cycle.

    ``cycles`` holds every cycle found, each as step names in data-flow order with the first
    name repeated last; ``problems`` still lists every problem, cycles or not.
    """

    @property
    def cycles(self) -> tuple[tuple[str, ...], ...]:
        return tuple(p.cycle for p in self.problems if p.kind == "cycle")

    @property
    def cycle(self) -> tuple[str, ...]:
        """The first cycle found."""
        return self.cycles[0]


class WorkflowInputError(WorkflowError, TypeError):
    """A run was given inputs that are missing or unknown; every one is named."""

    def __init__(
        self,
        workflow: str,
        *,
        expected: Sequence[str],
        missing: Sequence[str] = (),
        unexpected: Sequence[str] = (),
        suggestions: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.workflow = workflow
        self.missing = tuple(missing)
        self.unexpected = tuple(unexpected)
        hints = suggestions or {}
        parts = [f"input {name!r} is missing" for name in self.missing]
        for name in self.unexpected:
            close = hints.get(name, ())
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            parts.append(f"input {name!r} is unknown{hint}")
        known = ", ".join(map(repr, expected)) or "none"
        super().__init__(f"workflow {workflow!r}: {'; '.join(parts)}; its inputs are: {known}")


def describe_error(exc: BaseException | None) -> str:
    """Render an error and its cause chain as one line: ``Type: message (caused by ...)``.

    A nested StepError ends the walk: its own message already holds the rest of the chain.
    A cause whose message is a whole traceback (the one a worker process sends back) is
    given as where it was raised, not flattened onto the line.
    """
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(parts) < 8:
        seen.add(id(exc))
        message = str(exc)
        text = _raised_at(message) or " ".join(message.split())
        if isinstance(exc, StepError):
            parts.append(text)
            break
        parts.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return " (caused by ".join(parts) + ")" * (len(parts) - 1)


def _raised_at(message: str) -> str | None:
    """``raised at path:line in function`` for a message that is a traceback, else None."""
    if not message.startswith("Traceback (most recent call last):"):
        return None
    import re

    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', message)
    if not frames:
        return "a traceback"
    path, line, function = frames[-1]
    return f"raised at {path}:{line} in {function}"


class StepError(WorkflowError):
    """Something went wrong with one step; ``step`` names it, ``workflow`` its workflow."""

    def __init__(self, step: str, message: str, *, workflow: str = "") -> None:
        self.step = step
        self.workflow = workflow
        super().__init__(message)


def _step_label(step: str, workflow: str) -> str:
    return f"step {step!r} of workflow {workflow!r}" if workflow else f"step {step!r}"


class StepFailed(StepError):
    """A step failed for good, after its retries and its compensation.

    ``attempts`` counts the attempts made (0 when its arguments could not be resolved);
    ``cause`` is the last error, also chained as ``__cause__``; ``path`` names the step
    through nested workflows, outermost first; ``detail`` adds what compensation did.
    """

    def __init__(
        self,
        step: str,
        *,
        attempts: int,
        cause: BaseException,
        workflow: str = "",
        detail: str = "",
    ) -> None:
        self.attempts = attempts
        self.cause = cause
        self.detail = detail
        if attempts:
            tries = f" after {attempts} attempt{'' if attempts == 1 else 's'}"
        else:
            tries = " before it started"
        extra = f"; {detail}" if detail else ""
        label = _step_label(step, workflow)
        super().__init__(
            step, f"{label} failed{tries}: {describe_error(cause)}{extra}", workflow=workflow
        )
        self.__cause__ = cause

    @property
    def path(self) -> tuple[str, ...]:
        """The failed step's name through nested steps, e.g. ``('ingest', 'parse[3]', 'read')``."""
        if isinstance(self.cause, StepFailed):
            return (self.step, *self.cause.path)
        return (self.step,)

    @property
    def root_cause(self) -> BaseException:
        """The innermost error that is not itself a StepFailed."""
        cause = self.cause
        while isinstance(cause, StepFailed):
            cause = cause.cause
        return cause


class StepTimeout(StepError, TimeoutError):
    """One attempt of a step took longer than the step's ``timeout`` (seconds)."""

    def __init__(self, step: str, timeout: float, *, workflow: str = "") -> None:
        self.timeout = timeout
        label = _step_label(step, workflow)
        super().__init__(
            step, f"{label} took longer than its timeout of {timeout:g}s", workflow=workflow
        )


class UndoFailed(StepError):
    """Undoing a completed step raised; ``cause`` is the error, ``nested`` the inner ones."""

    def __init__(
        self,
        step: str,
        cause: BaseException,
        *,
        workflow: str = "",
        nested: Sequence[UndoFailed] = (),
    ) -> None:
        self.cause = cause
        self.nested = tuple(nested)
        label = _step_label(step, workflow)
        super().__init__(
            step, f"undoing {label} failed: {describe_error(cause)}", workflow=workflow
        )
        self.__cause__ = cause


class WorkflowRunError(WorkflowError):
    """A run did not succeed; ``result`` is its run result, with every step's record."""

    def __init__(self, result: Any, message: str) -> None:
        self.result = result
        super().__init__(message)


class WorkflowFailed(WorkflowRunError):
    """A run failed: a step failed for good, the deadline passed, or the return failed."""


class WorkflowHalted(WorkflowRunError):
    """A step halted the run; resume it to run what had not completed."""


class WorkflowCancelled(WorkflowRunError):
    """The run was cancelled through its execution context."""
