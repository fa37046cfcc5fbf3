"""llm-gateway's one Settings class: `AGENTSUITE_LLM_GATEWAY_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.sealing import check_keys
from agentsuite_kit.settings import ServiceSettings, env_prefix


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("llm-gateway"), extra="ignore")
    service: ClassVar[str] = "llm-gateway"

    # --- provider credentials ------------------------------------------------------------
    credential_keys: dict[str, SecretStr] = Field(
        description="Key id -> base64 of 32 random bytes: the AES-256-GCM keys that encrypt "
        "provider credentials. Several may be listed while rotating; `agentsuite up` mints one.",
    )
    credential_key_id: str = Field(
        description="Id (in `credential_keys`) of the key new and re-encrypted credentials use."
    )
    # --- upstream calls ------------------------------------------------------------------
    upstream_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds.")
    upstream_timeout: float = Field(
        default=120.0, gt=0, description="Seconds a whole non-streamed upstream call may take."
    )
    upstream_first_token_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a stream may take to its first token."
    )
    upstream_idle_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a stream may stay silent after its first token."
    )
    upstream_stream_timeout: float = Field(
        default=600.0,
        gt=0,
        description="Seconds a whole stream may take, first byte to last; at most "
        "`reservation_ttl` (left unset, it is lowered to it), so a trickling upstream cannot "
        "outlive the budget reservation it is billed against.",
    )
    upstream_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest upstream body read."
    )
    upstream_connections: int = Field(
        default=256, ge=1, description="Open connections per provider, per process."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Hosts or CIDR ranges provider base URLs may reach although they are "
        "loopback, private or link-local (the SSRF guard refuses those otherwise), e.g. "
        "`127.0.0.1`, `10.0.0.0/8`, `vllm.internal`.",
    )
    # --- routing -------------------------------------------------------------------------
    retries: int = Field(default=2, ge=0, le=10, description="Retries per model.")
    retry_backoff: float = Field(default=0.2, ge=0, description="First backoff, seconds.")
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failures that open a provider's breaker."
    )
    breaker_cooldown: float = Field(
        default=30.0, gt=0, description="Seconds an open breaker refuses before a probe."
    )
    # --- requests ------------------------------------------------------------------------
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    reservation_ttl: float = Field(
        default=900.0, gt=0, description="Seconds a budget reservation lives unsettled."
    )
    kafka_workers: int = Field(default=64, ge=1, description="Kafka requests run at once.")
    kafka_request_lease: float = Field(
        default=600.0, gt=0, description="Seconds after which an unanswered request is stale."
    )
    instance_check_interval: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between checks that this process still holds its liveness lock.",
    )
    # --- traces, usage, cache ------------------------------------------------------------
    trace_batch_size: int = Field(default=500, ge=1)
    trace_flush_interval: float = Field(default=0.2, gt=0, description="Seconds.")
    trace_queue_max: int = Field(default=100_000, ge=1)
    trace_retention_months: int = Field(default=3, ge=1)
    cache_ttl: float = Field(default=3600.0, gt=0, description="Default seconds.")
    config_ttl: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a tenant's routing config is trusted when "
        "change notifications are not arriving.",
    )

    @field_validator("credential_keys")
    @classmethod
    def _aes256_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        check_keys("credential_keys", value)
        return value

    @model_validator(mode="after")
    def _active_key_listed(self) -> GatewaySettings:
        if self.credential_key_id not in self.credential_keys:
            raise ValueError(
                f"credential_key_id: {self.credential_key_id!r} not in credential_keys"
            )
        return self

    @model_validator(mode="after")
    def _stream_ends_before_its_reservation(self) -> GatewaySettings:
        # a stream still running when its reservation expires is charged the full estimate
        # and its real settlement skipped
        if self.upstream_stream_timeout > self.reservation_ttl:
            if "upstream_stream_timeout" in self.model_fields_set:
                raise ValueError(
                    f"upstream_stream_timeout ({self.upstream_stream_timeout:g}) must be at "
                    f"most reservation_ttl ({self.reservation_ttl:g})"
                )
            self.upstream_stream_timeout = self.reservation_ttl
        return self
