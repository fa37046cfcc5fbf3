"""Retry and dead-letter topics of a consumer group, and the headers a dead letter carries.

Every consumer group has its own: delayed retry tiers `<group>.retry.<n>` and a dead-letter
topic `<group>.dlq`, read by that group alone, so one group's failure never reaches another
group and a redrive goes back to that group only. A group id is `<service>.<consumer>`.

The dead letter is the original record, byte for byte: same key, same value (which may
not even be valid JSON), same headers, plus the `dlq-*` headers described here. Keeping
the value untouched is what lets `agentsuite redrive` give it back to its group as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import Field

from agentsuite_contracts.envelope import Contract

PREFIX = "dlq-"
SUFFIX = ".dlq"
RETRY_PREFIX = "retry-"


def group_id(service: str, consumer: str) -> str:
    """`execution`, `plans` -> `execution.plans`: service-prefixed, so two services' consumers
    of the same name never share a group (each would miss half the events)."""
    return f"{service}.{consumer}"


def dead_letter_topic(group: str) -> str:
    """`execution.plans` -> `execution.plans.dlq`: the group's own dead-letter topic."""
    return f"{group}{SUFFIX}"


def retry_topic(group: str, tier: int) -> str:
    """`execution.plans`, 1 -> `execution.plans.retry.1`: the group's delayed-retry tier."""
    if tier < 1:
        raise ValueError("retry tiers count from 1")
    return f"{group}.retry.{tier}"


class RetryState(Contract):
    """The `retry-*` headers of a record in a retry tier: when it is due and from where."""

    due_at: datetime = Field(description="Not applied before this instant (UTC).")
    tier: int = Field(ge=1, description="The tier it waits in.")
    topic: str = Field(description="Topic the record was first read from.")
    partition: int = Field(ge=0, description="Its partition there.")
    offset: int = Field(ge=0, description="Its offset there.")
    error: str = Field(description="Why the last attempt failed, truncated.")

    def headers(self) -> dict[str, str]:
        return _headers(RETRY_PREFIX, self)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RetryState | None:
        """The retry headers, or None when the record is not a retry."""
        fields = _fields(RETRY_PREFIX, headers)
        return cls.model_validate(fields) if fields else None


class DeadLetter(Contract):
    """The `dlq-*` headers of a dead letter: where it came from and why it was given up."""

    reason: Literal["invalid", "handler-failed", "crashed"] = Field(
        description="`invalid`: the value did not parse as an envelope of the topic; "
        "`handler-failed`: applying it kept failing through every retry tier; "
        "`crashed`: the process died while applying it, again and again."
    )
    error: str = Field(description="The error, truncated to 4000 characters.")
    topic: str = Field(description="Topic the message was first read from.")
    partition: int = Field(ge=0, description="Its partition there.")
    offset: int = Field(ge=0, description="Its offset there.")
    consumer: str = Field(description="Consumer group that gave up on it.")
    failed_at: datetime = Field(description="When the consumer gave up (UTC).")
    attempts: int | None = Field(default=None, ge=1, description="Attempts made, when known.")

    def headers(self) -> dict[str, str]:
        """As Kafka headers: `dlq-reason`, `dlq-error`, ..., `dlq-failed-at`."""
        return _headers(PREFIX, self)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> DeadLetter:
        """Read the `dlq-*` headers of a dead letter (other headers are ignored)."""
        return cls.model_validate(_fields(PREFIX, headers))


def _headers(prefix: str, model: Contract) -> dict[str, str]:
    return {
        f"{prefix}{name.replace('_', '-')}": (
            value.isoformat() if isinstance(value, datetime) else str(value)
        )
        for name, value in model.model_dump(exclude_none=True).items()
    }


def _fields(prefix: str, headers: Mapping[str, str]) -> dict[str, str]:
    return {
        key[len(prefix) :].replace("-", "_"): value
        for key, value in headers.items()
        if key.startswith(prefix)
    }
