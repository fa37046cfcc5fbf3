"""The catalog tools and agents a session's requirements cite. The catalog projection
(migration 0002, `repositories/catalog.py`) answers this; until it is wired, none."""

from __future__ import annotations

from agentsuite_contracts.discovery import Candidate
from agentsuite_discovery.domain.objectives import Objective
from agentsuite_discovery.domain.sessions import State
from agentsuite_discovery.uow import DiscoveryUow


async def candidates(uow: DiscoveryUow, objective: Objective, state: State) -> list[Candidate]:
    return []
