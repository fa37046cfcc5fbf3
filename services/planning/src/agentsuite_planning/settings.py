"""planning's one Settings class: `AGENTSUITE_PLANNING_*`."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

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
