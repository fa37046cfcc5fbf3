"""What every management route of the gateway shares: the caller's unit of work.

A refusal raised inside (a `DomainError`) is not translated here: it goes on to the app's
handler (api/errors.py `on_domain`), which answers it as the kit's problem+json.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from fastapi import Response

from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.principal import actor_of
from agentsuite_kit.cause import acting
from agentsuite_kit.http.etag import etag
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.uow import GatewayUow


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


@asynccontextmanager
async def unit(deps: Deps, principal: Principal) -> AsyncIterator[GatewayUow]:
    """The principal's tenant's unit of work, acting as the principal (its events carry it)."""
    with acting(actor_of(principal)):
        async with deps.uow(principal.tenant) as uow:
            yield uow


def tagged(response: Response, view: V) -> V:
    """`view`, its version as the response's ETag."""
    response.headers["ETag"] = etag(view.version)
    return view
