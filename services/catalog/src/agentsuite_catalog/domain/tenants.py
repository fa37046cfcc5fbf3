"""What catalog adds to the kit's tenant rules (`agentsuite_kit.tenants`): the order a
deleted tenant's tools are retired in. A deleted tenant's catalog answers 404 to everything
(`readable`, `api.edge`): what it published is being deprecated (`handlers.tenants.retire`)
and nothing of it is offered any more.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentsuite_catalog.domain.tools import PUBLISHED, Tool, ToolVersion


def retirement_order(tool: Tool, versions: Sequence[ToolVersion]) -> list[ToolVersion]:
    """The tool's published versions, the head last: deprecating the others first never
    moves the head, so the way out sends no `tool.published` for an older version."""
    live = [v for v in versions if v.status == PUBLISHED]
    return sorted(live, key=lambda v: v.version == tool.head)
