"""The catalog tools and agents a session's requirements cite: the catalog projection
(`repositories.catalog`) matched against every current value, the `tools` obligation's
among them."""

from __future__ import annotations

from agentsuite_contracts.discovery import Candidate
from agentsuite_discovery.domain.objectives import Objective
from agentsuite_discovery.domain.sessions import State
from agentsuite_discovery.uow import DiscoveryUow

MAX_CITED = 10


async def candidates(uow: DiscoveryUow, objective: Objective, state: State) -> list[Candidate]:
    values = [state[o.key].value for o in objective.obligations if o.key in state]
    return await uow.catalog.cite([v for v in values if v is not None], MAX_CITED)
