"""The unified capability registry: engines, workflows and hybrids in one index.

Reads never lock: every index maps a key to an immutable tuple that writers replace whole
(copy on write), so a reader in another task or thread sees either the old or the new tuple,
never a half-built one. Writers serialise on one lock. A lookup by capability is one dict
access, whatever the number of providers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..exceptions import DuplicateProviderError, UnknownCapabilityError
from .records import (
    Engine,
    Provider,
    ProviderKind,
    check_provider_name,
    freeze_capabilities,
)
from .util import close_matches

__all__ = ["Compatibility", "Registry"]


@attrs.frozen
class Compatibility:
    """How one provider can be used: as a workflow step, and as an engine.

    ``as_step`` names the step kinds that can use it; ``as_engine`` is True when requests
    for its capabilities can be routed to it; ``payload`` says how a request's payload
    reaches it.
    """

    name: str
    kind: ProviderKind
    capabilities: tuple[str, ...]
    as_step: tuple[str, ...]
    as_engine: bool
    payload: str


def _sort_key(provider: Provider, capability: str) -> tuple[int, int]:
    # Highest priority first; among equals, the provider registered first.
    return (-provider.capabilities[capability], provider.seq)


class Registry:
    """Every provider the system knows, indexed by capability, kind and name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._by_name: dict[str, Provider] = {}
        self._by_capability: dict[str, tuple[Provider, ...]] = {}
        self._by_kind: dict[ProviderKind, tuple[Provider, ...]] = {k: () for k in ProviderKind}
        # Why a capability may have no provider: plugins that failed to load.
        self._would_serve: dict[str, list[str]] = {}
        self._may_serve: list[str] = []

    # -- writes ---------------------------------------------------------------------------

    def register(
        self,
        kind: ProviderKind,
        name: str,
        capabilities: Mapping[str, int],
        target: Any,
        *,
        origin: str = "host",
    ) -> Provider:
        """Add a provider; raise DuplicateProviderError if its name is taken."""
        return self.register_many([(kind, name, capabilities, target)], origin=origin)[0]

    def register_many(
        self,
        entries: Iterable[tuple[ProviderKind, str, Mapping[str, int], Any]],
        *,
        origin: str = "host",
    ) -> list[Provider]:
        """Add several providers at once, all or none.

        Each entry is ``(kind, name, capabilities, target)``. Nothing is added when any
        entry is invalid or any name is taken (by the registry or by another entry).
        Capability indexes are re-ranked once per batch, not once per provider.
        """
        checked = []
        for kind, name, caps, target in entries:
            check_provider_name(name, str(kind))
            owner = f"{kind} {name!r} from {origin!r}"
            checked.append(
                (ProviderKind(kind), name, freeze_capabilities(caps, owner=owner), target)
            )
        with self._lock:
            seen: dict[str, str] = {}
            for _, name, _, _ in checked:
                existing = self._by_name.get(name)
                if existing is not None:
                    raise DuplicateProviderError(name, existing.origin, origin)
                if name in seen:
                    raise DuplicateProviderError(name, origin, origin)
                seen[name] = origin
            added = [
                Provider(kind, name, caps, target, origin, next(self._seq))
                for kind, name, caps, target in checked
            ]
            touched: dict[str, list[Provider]] = {}
            kinds: dict[ProviderKind, list[Provider]] = {}
            for provider in added:
                self._by_name[provider.name] = provider
                kinds.setdefault(provider.kind, []).append(provider)
                for cap in provider.capabilities:
                    touched.setdefault(cap, []).append(provider)
            for kind, new_of_kind in kinds.items():
                self._by_kind[kind] = (*self._by_kind[kind], *new_of_kind)
            for cap, new in touched.items():
                ranked = [*self._by_capability.get(cap, ()), *new]
                ranked.sort(key=lambda p, c=cap: _sort_key(p, c))  # type: ignore[misc]
                self._by_capability[cap] = tuple(ranked)
        return added

    def register_engine(self, engine: Engine, *, origin: str = "host") -> Provider:
        """Add an engine as a provider of each capability it declares."""
        return self.register(
            ProviderKind.ENGINE, engine.name, engine.capabilities, engine, origin=origin
        )

    def unregister(self, name: str) -> Provider:
        """Remove a provider from every index; raise KeyError naming it if unknown."""
        with self._lock:
            provider = self._by_name.pop(name, None)
            if provider is None:
                raise KeyError(f"no provider named {name!r} is registered")
            self._by_kind[provider.kind] = tuple(
                p for p in self._by_kind[provider.kind] if p is not provider
            )
            for cap in provider.capabilities:
                rest = tuple(p for p in self._by_capability[cap] if p is not provider)
                if rest:
                    self._by_capability[cap] = rest
                else:
                    del self._by_capability[cap]
        return provider

    # -- reads ----------------------------------------------------------------------------

    def providers(self, capability: str) -> tuple[Provider, ...]:
        """Providers of ``capability``, highest priority first, ties in registration order.

        Returns an empty tuple when nobody provides it; see :meth:`require`.
        """
        return self._by_capability.get(capability, ())

    def require(self, capability: str) -> tuple[Provider, ...]:
        """Like :meth:`providers`, but raise UnknownCapabilityError with suggestions and
        the plugin failures that explain the gap."""
        found = self._by_capability.get(capability)
        if not found:
            raise UnknownCapabilityError(
                capability, self.suggest(capability), causes=self.causes(capability)
            )
        return found

    def note_failure(self, reason: str, capabilities: Iterable[str] | None = None) -> None:
        """Remember a plugin failure for the error of a capability nobody serves.

        With ``capabilities`` (what the failed plugin's engines and workflows would have
        served) it explains those; without (a plugin that failed before saying what it
        serves), any capability that turns out to be missing.
        """
        with self._lock:
            if capabilities is None:
                self._may_serve.append(reason)
            else:
                for capability in capabilities:
                    self._would_serve.setdefault(capability, []).append(reason)

    def causes(self, capability: str) -> list[str]:
        """The noted plugin failures that may explain why nobody serves ``capability``."""
        return [*self._would_serve.get(capability, ()), *self._may_serve]

    def suggest(self, capability: str, n: int = 3) -> list[str]:
        """The known capability names closest to ``capability``."""
        return close_matches(capability, self._by_capability, n=n, cutoff=0.5)

    def suggest_name(self, name: str) -> str | None:
        """The registered provider name closest to ``name``, or None."""
        close = close_matches(name, self._by_name, n=1)
        return close[0] if close else None

    def get(self, name: str) -> Provider | None:
        """The provider named ``name``, or None."""
        return self._by_name.get(name)

    def of_kind(self, kind: ProviderKind) -> tuple[Provider, ...]:
        """Every provider of one kind, in registration order."""
        return self._by_kind[kind]

    def capabilities(self) -> list[str]:
        """Every capability that has at least one provider, sorted."""
        return sorted(self._by_capability)

    def all(self) -> list[Provider]:
        """Every provider, in registration order."""
        return sorted(self._by_name.values(), key=lambda p: p.seq)

    def names_from(self, origin: str) -> list[str]:
        """Names of the providers that ``origin`` registered."""
        return [p.name for p in self.all() if p.origin == origin]

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def compatibility(self, names: Iterable[str] | None = None) -> list[Compatibility]:
        """Say, for each provider, whether it can be a workflow step and serve as an engine."""
        chosen: Sequence[Provider] = (
            self.all() if names is None else [self._by_name[n] for n in names]
        )
        return [_compatibility(p) for p in chosen]

    def __repr__(self) -> str:
        return f"<Registry providers={len(self)} capabilities={len(self._by_capability)}>"


def _compatibility(provider: Provider) -> Compatibility:
    caps = tuple(sorted(provider.capabilities))
    if provider.kind is ProviderKind.ENGINE:
        steps = ("engine", "capability") if caps else ("engine",)
        return Compatibility(provider.name, provider.kind, caps, steps, bool(caps), "payload")
    inputs = tuple(getattr(provider.target, "inputs", ()) or ())
    if len(inputs) == 1:
        binding = f"payload -> input {inputs[0]!r}"
    elif inputs:
        binding = "payload mapping -> inputs " + ", ".join(map(repr, inputs))
    else:
        binding = "payload ignored (no inputs)"
    steps = ("compose", "capability") if caps else ("compose",)
    return Compatibility(provider.name, provider.kind, caps, steps, bool(caps), binding)
