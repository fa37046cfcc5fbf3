"""catalog's one Settings class: `AGENTSUITE_CATALOG_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("catalog"), extra="ignore")
    service: ClassVar[str] = "catalog"

    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Hosts or CIDR ranges a tool's `http` or `mcp` URL may name although they "
        "are loopback, private or link-local (the SSRF guard refuses those otherwise).",
    )
    mcp_import_timeout: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="Seconds an MCP import may take to connect and list the server's tools.",
    )
    retire_batch: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Tools, agents and templates a deleted tenant's retirement deprecates "
        "per transaction (a tenant with 25,000 tools: 125 of them).",
    )
