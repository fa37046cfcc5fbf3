"""identity's one Settings class: `AGENTSUITE_IDENTITY_*`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("identity"), extra="ignore")
    service: ClassVar[str] = "identity"

    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach identity at; defaults to http://<host>:<port>.",
    )
    # --- signing -------------------------------------------------------------------------
    signing_algorithm: Literal["Ed25519", "ES256"] = Field(
        default="Ed25519",
        description="JWS algorithm of new signing keys. `EdDSA` (deprecated by RFC 9864) is "
        "read as `Ed25519`; the signer of another algorithm is rotated out at startup.",
    )
    key_encryption_key: SecretStr = Field(
        description="Base64 of 32 random bytes: AES-256-GCM key that encrypts the signing "
        "keys at rest. Required to issue tokens; `agentsuite up` mints one.",
    )
    signing_key_rotation_days: float = Field(default=30.0, gt=0)
    # --- tokens --------------------------------------------------------------------------
    access_token_ttl: int = Field(default=600, ge=30, le=86_400, description="Seconds.")
    api_key_token_ttl: int = Field(default=300, ge=30, le=3_600, description="Seconds.")
    refresh_token_ttl: int = Field(default=30 * 86_400, ge=300, description="Seconds.")
    token_leeway: float = Field(default=30.0, ge=0, description="Clock skew allowed, seconds.")
    # --- accounts ------------------------------------------------------------------------
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65_536, ge=8, description="KiB.")
    argon2_parallelism: int = Field(default=4, ge=1)
    login_max_failures: int = Field(default=5, ge=1, description="Per account per window.")
    login_address_max_failures: int = Field(default=50, ge=1, description="Per address.")
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    invitation_ttl_hours: float = Field(default=72.0, gt=0)
    tenant_purge_grace_days: float = Field(default=30.0, ge=0)
    # --- authorization -------------------------------------------------------------------
    decision_sample_rate: float = Field(
        default=1.0, ge=0, le=1, description="Share of authorize decisions recorded + emitted."
    )
    decision_retention: int = Field(
        default=10_000, ge=0, description="Recorded decisions kept per tenant (dry-run window)."
    )
    # --- bootstrap -----------------------------------------------------------------------
    bootstrap_dir: Path | None = Field(
        default=None,
        description="Where the platform operator's and each service's credential is written, "
        "once, mode 0600, when identity first creates them (`agentsuite up` sets it).",
    )
    bootstrap_services: tuple[str, ...] = Field(
        default=(),
        description="Services that get a service account (and credential file) at startup.",
    )

    @field_validator("signing_algorithm", mode="before")
    @classmethod
    def _fully_specified(cls, value: object) -> object:
        # deployments configured before the switch keep starting, now issuing Ed25519
        return "Ed25519" if value == "EdDSA" else value

    @field_validator("key_encryption_key")
    @classmethod
    def _aes256_key(cls, value: SecretStr) -> SecretStr:
        # checked here so a bad key fails the start, not the first token an hour later
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except ValueError:
            raise ValueError("key_encryption_key: not base64") from None
        if len(raw) != 32:
            raise ValueError(f"key_encryption_key: must decode to 32 bytes, not {len(raw)}")
        return value

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")
