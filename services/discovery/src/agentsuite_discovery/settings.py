"""discovery's one Settings class: `AGENTSUITE_DISCOVERY_*`."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class DiscoverySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("discovery"), extra="ignore")
    service: ClassVar[str] = "discovery"

    model: str = Field(
        default="discovery", min_length=1, description="The gateway model id turns go to."
    )
    max_turns: int = Field(
        default=50, ge=1, description="User turns a session may take before it is abandoned."
    )
    max_tokens: int = Field(
        default=200_000,
        ge=1,
        description="Tokens the model's answers may use in one session before it is abandoned.",
    )
    max_turn_chars: int = Field(
        default=8_000, ge=1, le=1_000_000, description="Most characters of one user turn."
    )
    recent_chars: int = Field(
        default=12_000,
        ge=0,
        description="Characters of the latest turns sent with each prompt (older ones live on "
        "in the rolling summary).",
    )
    resend_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Wait for the gateway's answer this long before sending the request again.",
    )
    resends: int = Field(
        default=2,
        ge=0,
        le=20,
        description="Times a request is sent again (same request id) before the turn fails.",
    )
    retries: int = Field(
        default=2,
        ge=0,
        le=20,
        description="New requests for a turn whose call the gateway lost mid-way "
        "(`interrupted`, `unavailable`) before the turn fails.",
    )
    sse_lifetime_seconds: float = Field(
        default=600.0, gt=0, description="Longest an event stream stays open."
    )
    sse_keepalive: int = Field(
        default=15, ge=1, description="Seconds between keep-alive comments on an event stream."
    )

    @property
    def resend_after(self) -> timedelta:
        return timedelta(seconds=self.resend_after_seconds)
