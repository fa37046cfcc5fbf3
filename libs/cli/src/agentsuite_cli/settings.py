"""The CLI's settings: where the stack lives and what it points at."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    """`AGENTSUITE_*`. Leave the URLs unset to run the embedded PostgreSQL and broker."""

    model_config = SettingsConfigDict(env_prefix="AGENTSUITE_", extra="ignore")

    home: Path = Field(
        default=Path(".agentsuite"),
        description="Project-local folder for embedded data, logs, secrets and state.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="External PostgreSQL as a role that may create roles and databases, "
        "e.g. postgresql://postgres:pw@db:5432/postgres. Unset: embedded PostgreSQL.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="External Kafka bootstrap servers. Unset: embedded broker."
    )
    pg_port: int = Field(default=55432, description="Embedded PostgreSQL TCP port (127.0.0.1).")
    pg_fsync: bool = Field(
        default=True,
        description="Embedded PostgreSQL syncs commits to disk. `false` is faster and fit "
        "for throwaway test stacks only: a power loss can lose or corrupt committed data.",
    )
    kafka_port: int = Field(default=59092, description="Embedded broker TCP port (127.0.0.1).")
    base_port: int = Field(
        default=8100,
        ge=1,
        le=65535,
        description="First HTTP port: the registry's n-th service listens on base_port + n "
        "(identity first), so every service knows identity's JWKS URL before it starts.",
    )
