"""discovery's one Settings class: `AGENTSUITE_DISCOVERY_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class DiscoverySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("discovery"), extra="ignore")
    service: ClassVar[str] = "discovery"
