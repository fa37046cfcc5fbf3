"""The sample's one Settings class: `AGENTSUITE_SAMPLE_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class SampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("sample"), extra="ignore")
    service: ClassVar[str] = "sample"

    notes_topic: str = "sample.notes.v1"
