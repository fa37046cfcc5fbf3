"""The settings base every service subclasses, once, with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# the service's producer refuses a record past this (aiokafka's `max_request_size`, which is
# also Apache Kafka's default `max.message.bytes` give or take the batch header)
PRODUCER_MAX_REQUEST_BYTES = 1_048_576
# what a record carries beside the event: its key, the headers, the batch's overhead
RECORD_HEADROOM = 16 * 1024


def env_prefix(service: str) -> str:
    """`llm-gateway` -> `AGENTSUITE_LLM_GATEWAY_`: the prefix of one service's variables."""
    return f"AGENTSUITE_{service.upper().replace('-', '_')}_"


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses it once and sets `model_config`:

    `model_config = SettingsConfigDict(env_prefix=env_prefix("planning"))`
    """

    model_config = SettingsConfigDict(env_prefix="AGENTSUITE_SERVICE_", extra="ignore")

    service: ClassVar[str] = "service"

    database_url: SecretStr = Field(
        description="Async SQLAlchemy URL as the app role (not the table owner)."
    )
    migration_database_url: SecretStr | None = Field(
        default=None, description="URL as the owner role, for Alembic; defaults to database_url."
    )
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092")
    kafka_idempotence: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Idempotent producer: `auto` probes the broker and uses it where supported.",
    )
    kafka_client_id: str | None = None
    jwks_url: str | None = Field(default=None, description="identity's JWKS endpoint.")
    identity_token_url: str | None = Field(
        default=None,
        description="identity's `POST /v1/token`: with it (and a JWKS URL), `Bearer ask_...` "
        "API keys are accepted, exchanged there for a short JWT that is cached.",
    )
    identity_revocations_url: str | None = Field(
        default=None,
        description="identity's `GET /v1/revocations`: with it (and a JWKS URL), the tokens of "
        "a principal disabled at identity are refused here within `revocation_interval`. "
        "Read with this service's token (`credentials_file`); while identity cannot be "
        "reached the last list stays in force (fail-open).",
    )
    consumers_join_before_ready: bool = Field(
        default=False,
        description="Start waits until every consumer group has joined. Off: the API serves "
        "at once and groups join in the background (a join lasts the broker's rebalance "
        "delay, after a crash the dead member's session too). Tests turn it on so a "
        "scenario never starts before its consumers can hear it.",
    )
    revocation_interval: float = Field(
        default=5.0, gt=0, description="Seconds between fetches of identity's revocation list."
    )
    credentials_file: Path | None = Field(
        default=None,
        description="This service's own identity credential (client id + secret, JSON, mode "
        "0600), written once by identity at bootstrap; never a secret in code.",
    )
    jwt_issuer: str = "agentsuite-identity"
    jwt_audience: str = "agentsuite"
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="A POST, PUT or PATCH body over this is refused with 413 before it is read "
        "further (`agentsuite_kit.edge.bounded` on every router).",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses or networks (CIDR) of the reverse proxies in front of the "
        "service: from them, X-Forwarded-For and X-Forwarded-Proto name the client. From "
        "anyone else they are ignored, so a client cannot pick the address it is seen, "
        "throttled and audited as. None by default.",
    )
    log_level: str = "INFO"
    log_json: bool = True
    outbox_batch_size: int = Field(default=500, ge=1)
    outbox_poll_interval: float = Field(
        default=0.2,
        gt=0,
        description="Seconds the leading relay waits between rounds for rows other "
        "processes wrote; this process's own commits wake it at once.",
    )
    outbox_max_attempts: int = Field(
        default=10, ge=1, description="Failed sends of one outbox row before it is parked."
    )
    outbox_retention_hours: float = Field(
        default=24.0, gt=0, description="How long published outbox rows are kept."
    )
    consumer_retry_tiers: tuple[float, ...] = Field(
        default=(10.0, 60.0, 600.0),
        description="Seconds each delayed retry tier waits before a failed message is "
        "tried again; after the last tier it goes to the group's dead-letter topic.",
    )
    consumer_handler_timeout: float = Field(
        default=30.0, gt=0, description="Seconds one handler call may take."
    )
    consumer_max_crashes: int = Field(
        default=3, ge=1, description="Process deaths on one message before it is dead-lettered."
    )
    consumer_transient_budget: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a transient fault is retried in place before the offset is "
        "left uncommitted and the batch fetched again.",
    )
    inbox_retention_hours: float = Field(
        default=168.0, gt=0, description="How long applied event ids are remembered."
    )
    max_message_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description="Largest event `emit` accepts (the broker's limit); at most "
        f"{PRODUCER_MAX_REQUEST_BYTES - RECORD_HEADROOM}, what the producer can send.",
    )

    @field_validator("max_message_bytes")
    @classmethod
    def _sendable(cls, value: int) -> int:
        # an event `emit` accepts but the producer refuses would only be parked by the relay
        limit = PRODUCER_MAX_REQUEST_BYTES - RECORD_HEADROOM
        if value > limit:
            raise ValueError(
                f"max_message_bytes={value} is past what the producer sends: at most {limit} "
                f"(a {PRODUCER_MAX_REQUEST_BYTES}-byte request less {RECORD_HEADROOM} for the "
                "record's key, headers and overhead)"
            )
        return value
