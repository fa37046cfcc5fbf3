"""catalog's one Settings class: `AGENTSUITE_CATALOG_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("catalog"), extra="ignore")
    service: ClassVar[str] = "catalog"
