"""planning's one Settings class: `AGENTSUITE_PLANNING_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class PlanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("planning"), extra="ignore")
    service: ClassVar[str] = "planning"
