"""planning's one Settings class: `AGENTSUITE_PLANNING_*`."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.sealing import check_keys
from agentsuite_kit.settings import ServiceSettings, env_prefix


class PlanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("planning"), extra="ignore")
    service: ClassVar[str] = "planning"

    max_steps: int = Field(
        default=1_000, ge=1, le=100_000, description="Steps a plan may have, over all phases."
    )
    max_plan_bytes: int = Field(
        default=900_000,
        ge=10_000,
        description="A plan whose `planning.plan.approved` event would pass this is refused "
        "(`too_large`): the event must fit the broker's message limit.",
    )
    approval_gap_override: bool = Field(
        default=True,
        description="The discovery gate: a plan drafted from a session completed by force "
        "or with gaps is approved only with `accept_gaps: true`.",
    )

    # --- drafting (owner: plan-drafting) ------------------------------------------------
    draft_model: str = Field(
        default="planning", min_length=1, description="The gateway model id drafts go to."
    )
    draft_resend_after_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Wait for the gateway's answer to a draft this long before sending again.",
    )
    draft_resends: int = Field(
        default=2,
        ge=0,
        le=20,
        description="Times a draft's request is sent again (same request id) before it fails.",
    )
    draft_retries: int = Field(
        default=2,
        ge=0,
        le=20,
        description="New requests for a draft whose call the gateway lost mid-way "
        "(`interrupted`, `unavailable`) before the draft fails.",
    )
    template_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Least score (0..1) a published template needs to draft a session's plan "
        "instead of the model.",
    )
    template_candidates: int = Field(
        default=200, ge=0, le=10_000, description="Published templates scored per draft."
    )

    @property
    def draft_resend_after(self) -> timedelta:
        return timedelta(seconds=self.draft_resend_after_seconds)

    # --- triggers (owner: plan-triggers) -------------------------------------------------
    trigger_secret_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Key id -> base64 of 32 random bytes: the AES-256-GCM keys that seal "
        "webhook signing secrets at rest. Several may be listed while rotating; none: "
        "webhook triggers cannot be created and their deliveries are refused.",
    )
    trigger_secret_key_id: str | None = Field(
        default=None, description="Id (in `trigger_secret_keys`) of the key new secrets use."
    )
    trigger_secret_grace: float = Field(
        default=24 * 3600.0,
        ge=0,
        description="Seconds a webhook's previous signing secret is still accepted after a "
        "rotation.",
    )
    trigger_max_body_bytes: int = Field(
        default=256 * 1024, ge=2, description="Largest delivery body (the run's inputs)."
    )

    @field_validator("trigger_secret_keys")
    @classmethod
    def _aes256_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if value:
            check_keys("trigger_secret_keys", value)
        return value

    @model_validator(mode="after")
    def _active_key_listed(self) -> Self:
        if self.trigger_secret_keys and self.trigger_secret_key_id not in self.trigger_secret_keys:
            raise ValueError(
                f"trigger_secret_key_id: {self.trigger_secret_key_id!r} not in trigger_secret_keys"
            )
        if self.trigger_secret_key_id is not None and not self.trigger_secret_keys:
            raise ValueError("trigger_secret_key_id: set, but trigger_secret_keys lists no key")
        return self
