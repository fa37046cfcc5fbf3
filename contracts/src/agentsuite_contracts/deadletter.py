"""The record a consumer writes to `<topic>.dlq` when a message cannot be applied."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import Field

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.envelope import Contract


class DeadLetter(Contract):
    """A poison message, kept byte-exact so it can be re-driven to its topic unchanged."""

    topic: str = Field(description="Topic the message was read from.")
    partition: int = Field(ge=0, description="Its partition.")
    offset: int = Field(ge=0, description="Its offset.")
    key: str | None = Field(default=None, description="Its key, decoded as UTF-8.")
    value_b64: str = Field(description="Its value, base64: it may not even be valid JSON.")
    headers: dict[str, str] = Field(default_factory=dict, description="Its headers.")
    consumer: str = Field(description="Consumer group that gave up on it.")
    error: ErrorInfo = Field(description="Why it could not be applied.")
    attempts: int = Field(ge=1, description="How often applying it was tried.")
    failed_at: datetime = Field(description="When the consumer gave up.")

    def value(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.value_b64)
