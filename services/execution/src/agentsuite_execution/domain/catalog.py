"""What execution knows of the catalog and of llm-gateway's models: the tool versions and
agent revisions steps call, and the list prices LLM reservations are estimated with.

Records of events other services published (catalog.tools.v1, catalog.agents.v1,
llm.providers.v1), as `repositories.projections` stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from agentsuite_contracts.catalog import AgentSpec, CatalogStatus, ToolSpec
from agentsuite_contracts.common import Money


@dataclass(frozen=True)
class ToolRecord:
    """One published tool version, with its tool's deprecation and its own."""

    tool_id: UUID
    tool_version_id: UUID
    name: str
    version: str
    spec: ToolSpec
    deprecated: bool
    sunset_at: datetime | None
    version_deprecated: bool = False
    version_sunset_at: datetime | None = None

    def sunset(self, at: datetime) -> bool:
        """Past its sunset at `at`: calls fail from then on (a deprecated tool or version
        without a sunset date still runs; new plans are what deprecation warns)."""
        return self.sunset_since(at) is not None

    def sunset_since(self, at: datetime) -> datetime | None:
        """The earliest sunset, of the tool or of this version, already passed at `at`."""
        passed = [
            when
            for deprecated, when in (
                (self.deprecated, self.sunset_at),
                (self.version_deprecated, self.version_sunset_at),
            )
            if deprecated and when is not None and when <= at
        ]
        return min(passed, default=None)


@dataclass(frozen=True)
class ToolHead:
    """Which version of a tool a step without a pinned version gets, and whether the tool
    is deprecated; with the event times that order publications and deprecations, which
    may arrive in any order (a retry tier delays one, the next goes on).

    A publication newer than the head replaces it and lifts an older deprecation; a
    deprecation newer than the last one replaces it unless a newer publication lifted it.
    """

    version: str | None = None
    published_at: datetime | None = None
    deprecated: bool = False
    sunset_at: datetime | None = None
    deprecated_at: datetime | None = None

    def publish(self, version: str, at: datetime) -> ToolHead:
        if self.published_at is not None and at < self.published_at:
            return self
        # a deprecation after this publication still holds
        holds = self.deprecated and self.deprecated_at is not None and self.deprecated_at > at
        return replace(
            self,
            version=version,
            published_at=at,
            deprecated=holds,
            sunset_at=self.sunset_at if holds else None,
        )

    def deprecate(self, sunset_at: datetime | None, at: datetime) -> ToolHead:
        if self.deprecated_at is not None and at < self.deprecated_at:
            return self
        lifted = self.published_at is not None and self.published_at > at
        return replace(
            self,
            deprecated=not lifted,
            sunset_at=None if lifted else sunset_at,
            deprecated_at=at,
        )


@dataclass(frozen=True)
class AgentRecord:
    """One revision of an agent; `status` is a `CatalogStatus` value."""

    agent_id: UUID
    name: str
    version: int
    spec: AgentSpec
    status: str

    @property
    def published(self) -> bool:
        return self.status == CatalogStatus.PUBLISHED


@dataclass(frozen=True)
class Price:
    """A model's list price of one million tokens, in micro-units of `currency`."""

    model: str
    input_micros: int
    output_micros: int
    currency: str

    @classmethod
    def of(cls, model: str, input_price: Money, output_price: Money) -> Price:
        """From a `ModelRegistered`'s two prices, which must share a currency: one price
        row cannot hold two (and a reservation could not add them)."""
        if input_price.currency != output_price.currency:
            raise ValueError(
                f"model {model!r}: input price in {input_price.currency} but output price "
                f"in {output_price.currency}; one currency per model"
            )
        return cls(
            model=model,
            input_micros=input_price.amount_micros,
            output_micros=output_price.amount_micros,
            currency=input_price.currency,
        )
