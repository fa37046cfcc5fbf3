"""What a tenant can route to: providers, models with their price lists, aliases, rules,
preferences. Immutable snapshots: the gateway reads one per request without locking."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class ProviderKind(StrEnum):
    OPENAI = "openai"  # any OpenAI-compatible base URL: OpenAI, vLLM, Ollama, LM Studio...
    ANTHROPIC = "anthropic"  # the Messages API, translated both ways
    LOCAL = "local"  # built in: deterministic, offline, scriptable


class Tier(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    BEST = "best"


@dataclass(frozen=True, slots=True)
class Price:
    """Micro-units of `currency` per million tokens, in force from `effective_from`.

    Cached input tokens default to the input price and reasoning tokens to the output
    price when the list names none (that is how providers bill them then)."""

    effective_from: datetime
    input: int
    output: int
    cached_input: int | None = None
    reasoning: int | None = None
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class Provider:
    provider_id: UUID
    name: str
    kind: ProviderKind
    base_url: str | None
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    # the AES-GCM ciphertext and its key id; decrypted only when a call needs it
    credential: bytes | None = None
    credential_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    model_id: UUID
    name: str  # what clients ask for
    provider: Provider
    upstream: str  # what the provider is sent
    context_window: int
    max_output: int | None = None
    capabilities: frozenset[str] = frozenset()
    tier: Tier = Tier.BALANCED
    enabled: bool = True
    prices: tuple[Price, ...] = ()  # sorted by effective_from

    def price_at(self, when: datetime) -> Price | None:
        """The price in force at `when` (None: the model is free, e.g. a local one)."""
        i = bisect_right([p.effective_from for p in self.prices], when)
        return self.prices[i - 1] if i else None

    @property
    def routable(self) -> bool:
        return self.enabled and self.provider.enabled


@dataclass(frozen=True, slots=True)
class Target:
    model: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Alias:
    """A name (`default`, `fast`, `smart`...) for an ordered list of models: the weights
    choose which goes first, the rest follow as fallbacks in their listed order."""

    name: str
    targets: tuple[Target, ...]


class RuleEffect(StrEnum):
    PIN = "pin"  # this subject always gets this model, whatever it asked for
    FORBID = "forbid"  # this subject never gets this model (or models with this prefix*)


class SubjectKind(StrEnum):
    TENANT = "tenant"
    ORG = "org"
    USER = "user"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: UUID
    effect: RuleEffect
    model: str  # a name, or a prefix ending in `*`
    subject_kind: SubjectKind
    subject_id: str | None  # None: every subject of the kind

    def matches_model(self, name: str) -> bool:
        if self.model.endswith("*"):
            return name.startswith(self.model[:-1])
        return name == self.model


@dataclass(frozen=True, slots=True)
class Preference:
    subject_kind: SubjectKind  # tenant or user
    subject_id: str
    default_model: str  # a model or alias name


class Exhaust(StrEnum):
    REJECT = "reject"  # refuse the call (402)
    DOWNGRADE = "downgrade"  # route to `downgrade_to` instead, if that fits


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """A budget's configuration (its counters live in the database only)."""

    budget_id: UUID
    scope: SubjectKind
    scope_id: str
    on_exhaust: Exhaust = Exhaust.REJECT
    downgrade_to: str | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """One tenant's routing configuration, as loaded at one moment."""

    tenant_id: UUID
    models: dict[str, Model]
    aliases: dict[str, Alias]
    rules: tuple[Rule, ...] = ()
    preferences: dict[tuple[SubjectKind, str], Preference] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    budgets: tuple[BudgetRule, ...] = ()

    def budgets_for(self, subjects: list[tuple[str, str]]) -> list[BudgetRule]:
        """The budgets a caller with these (kind, id) subjects counts against."""
        wanted = set(subjects)
        return [b for b in self.budgets if (b.scope.value, b.scope_id) in wanted]
