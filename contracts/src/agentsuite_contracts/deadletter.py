"""What a consumer adds when it moves a message to `<topic>.dlq`.

The dead letter is the original record, byte for byte: same key, same value (which may
not even be valid JSON), same headers, plus the `dlq-*` headers described here. Keeping
the value untouched is what lets `agentsuite redrive` put it back on its topic as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import Field

from agentsuite_contracts.envelope import Contract

PREFIX = "dlq-"
SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """`planning.plans.v1` -> `planning.plans.v1.dlq`."""
    return f"{topic}{SUFFIX}"


class DeadLetter(Contract):
    """The `dlq-*` headers of a dead letter: where it came from and why it was given up."""

    reason: Literal["invalid", "handler-failed"] = Field(
        description="`invalid`: the value did not parse as an envelope of the topic; "
        "`handler-failed`: applying it kept failing."
    )
    error: str = Field(description="The error, truncated to 4000 characters.")
    topic: str = Field(description="Topic the message was read from.")
    partition: int = Field(ge=0, description="Its partition.")
    offset: int = Field(ge=0, description="Its offset.")
    consumer: str = Field(description="Consumer group that gave up on it.")
    failed_at: datetime = Field(description="When the consumer gave up (UTC).")

    def headers(self) -> dict[str, str]:
        """As Kafka headers: `dlq-reason`, `dlq-error`, ..., `dlq-failed-at`."""
        return {
            f"{PREFIX}{name.replace('_', '-')}": (
                value.isoformat() if isinstance(value, datetime) else str(value)
            )
            for name, value in self.model_dump().items()
        }

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> DeadLetter:
        """Read the `dlq-*` headers of a dead letter (other headers are ignored)."""
        fields = {
            key[len(PREFIX) :].replace("-", "_"): value
            for key, value in headers.items()
            if key.startswith(PREFIX)
        }
        return cls.model_validate(fields)
