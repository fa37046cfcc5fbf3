"""Durable jobs by kind: each area's timers (purges, expiries, key rotation)."""

from __future__ import annotations

from agentsuite_identity.deps import Deps
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Handler


def jobs(deps: Deps) -> dict[str, Handler[IdentityUow]]:
    return {}
