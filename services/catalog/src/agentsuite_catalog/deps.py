"""What handlers and routes share beside the unit of work: one per process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentsuite_catalog.mcp_servers import list_tools
from agentsuite_catalog.settings import CatalogSettings
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.runtime import Runtime


@dataclass
class Deps:
    settings: CatalogSettings
    runtime: Runtime[CatalogUow] = field(init=False)
    # what an MCP server lists: (url, allowed hosts, timeout) -> tools in wire form
    list_mcp_tools: Callable[[str, tuple[str, ...], float], Awaitable[list[dict[str, Any]]]] = (
        list_tools
    )
