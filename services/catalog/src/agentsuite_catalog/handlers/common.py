"""What every command handler checks first, and the clock they share."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import UUID

from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.envelope import Payload
from agentsuite_kit.errors import Conflict
from agentsuite_kit.http.guard import Blocked, check_address, check_url
from agentsuite_kit.tenants import may_write

# RFC 6761: `localhost` and every name under it resolve to loopback, always; catalog does
# not resolve the names it stores (execution's resolver refuses them at call time), but
# these it can refuse when they are saved, as it does 127.0.0.1
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


async def writable(uow: CatalogUow) -> UUID:
    """The unit of work's tenant, if it may write (not suspended or deleted)."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    return tenant_id


def now() -> datetime:
    return datetime.now(UTC)


def emit(uow: CatalogUow, events: Sequence[Payload]) -> None:
    """Queue what a transition recorded, in order, for the outbox."""
    for event in events:
        uow.emit(event)


def blocked(url: str, allowed: tuple[str, ...]) -> str | None:
    """Why the SSRF guard refuses `url` (a literal internal address, or a `localhost`
    name, not allow-listed); None if it passes."""
    try:
        check_url(url, allowed)
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            check_address(host, LOOPBACK, allowed)
    except Blocked as exc:
        return exc.message
    return None
