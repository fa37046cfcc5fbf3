"""Durable jobs by kind: each area's timers (purges, expiries, key rotation, pruning)."""

from __future__ import annotations

from agentsuite_identity.deps import Deps
from agentsuite_identity.handlers import decisions, signing_keys, tenants
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Handler


def jobs(deps: Deps) -> dict[str, Handler[IdentityUow]]:
    return {**tenants.JOBS, **signing_keys.jobs(deps), **decisions.jobs(deps)}


async def schedule(deps: Deps) -> None:
    """The tenantless timers every identity needs: the signing key's rotation and the
    decisions pruning cron. Idempotent (keyed jobs), so every worker may run it at start;
    first a signer of another algorithm than the settings' is rotated out (once: the
    workers take the keys' lock in turn, and the next one finds the new signer)."""
    async with deps.runtime.uow(None) as uow:
        await signing_keys.retire_outdated(uow, deps.keyring)
        await signing_keys.schedule_rotation(uow, deps.settings)
        await decisions.schedule_prune(uow)
        await uow.commit()
