"""planning's one Settings class: `AGENTSUITE_PLANNING_*`."""

from __future__ import annotations

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
