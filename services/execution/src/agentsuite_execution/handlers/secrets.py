"""Tenant secrets: write-only values (`PUT`), metadata (`GET`), `DELETE`, and the job that
re-seals secrets under the active key after a rotation (a tool call opens its credential
in `engine.credentials`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.identity import TenantStatus
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.secrets import check_name, check_value
from agentsuite_execution.tools.credentials import SealError, SecretBox
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.errors import Conflict, NotFound
from agentsuite_kit.jobs import Handler, Job

log = logging.getLogger(__name__)

REENCRYPT = "execution.secrets.reencrypt"
REENCRYPT_CRON = "*/10 * * * *"
REENCRYPT_BATCH = 100


def tenant_of(uow: ExecutionUow) -> UUID:
    if uow.tenant_id is None:
        raise ValueError("secrets are per tenant: use a tenant's unit of work")
    return uow.tenant_id


@dataclass(frozen=True)
class SecretMeta:
    name: str
    description: str | None
    key_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    created: bool = False

    @classmethod
    def of(cls, row: Any, created: bool = False) -> SecretMeta:
        return cls(
            name=row["name"],
            description=row["description"],
            key_id=row["key_id"],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            created=created,
        )


@dataclass(frozen=True)
class PutSecret:
    name: str
    value: str = field(repr=False)
    description: str | None = None


async def put(command: PutSecret, uow: ExecutionUow, deps: Deps) -> SecretMeta:
    name = check_name(command.name)
    value = check_value(command.value)
    box = deps.secrets
    if not box.configured:
        raise Conflict(
            "secrets_unconfigured",
            "this execution has no secret keys (setting secret_keys): it cannot store secrets",
        )
    if await uow.tenants.status() is TenantStatus.DELETED:
        # its secrets were deleted with it (handlers.tenants): none is stored again
        raise Conflict("tenant_deleted", "the tenant is deleted: it stores no secret")
    blob, key_id = box.seal(tenant_of(uow), name, value)
    row, created = await uow.secrets.put(name, blob, key_id, command.description)
    return SecretMeta.of(row, created)


async def get(name: str, uow: ExecutionUow) -> SecretMeta:
    row = await uow.secrets.get(check_name(name))
    if row is None:
        raise NotFound("secret_not_found", f"no secret {name!r}", field="name")
    return SecretMeta.of(row)


async def delete(name: str, uow: ExecutionUow) -> None:
    if not await uow.secrets.delete(check_name(name)):
        raise NotFound("secret_not_found", f"no secret {name!r}", field="name")


async def reencrypt(
    box: SecretBox,
    uow: Callable[[UUID | None], ExecutionUow],
    *,
    batch: int = REENCRYPT_BATCH,
) -> int:
    """Move every tenant's secrets still under another key to the active key, in batches
    (each its own all-tenants transaction, each row under its own associated data); the
    number moved. A row that does not open is logged by name and left as it is."""
    if box.key_id is None:
        return 0
    moved = 0
    after: tuple[UUID, str] | None = None
    while True:
        async with uow(None) as every:
            rows = await every.secrets.stale(box.key_id, batch, after)
            for row in rows:
                tenant, name = row["tenant_id"], row["name"]
                after = (tenant, name)  # one pass in key order: a failing row is not met again
                try:
                    value = box.open(tenant, name, row["value"], row["key_id"])
                except SealError as exc:
                    log.warning("secret not re-encrypted (tenant %s): %s", tenant, exc)
                    continue
                blob, key_id = box.seal(tenant, name, value)
                await every.secrets.reseal(tenant, name, blob, key_id)
                moved += 1
            await every.commit()
        if len(rows) < batch:
            return moved


def jobs(deps: Deps) -> dict[str, Handler[ExecutionUow]]:
    """`execution.secrets.reencrypt`: see `reencrypt` (a tenantless job: every tenant)."""

    async def run(job: Job, uow: ExecutionUow) -> None:
        moved = await reencrypt(deps.secrets, deps.uow)
        if moved:
            log.info("re-encrypted %d secrets under key %s", moved, deps.secrets.key_id)

    return {REENCRYPT: run}


async def schedule_reencrypt(deps: Deps) -> None:
    """Register the tenantless re-encryption cron (idempotent: one row by key)."""
    async with deps.uow(None) as uow:
        await uow.jobs.schedule(REENCRYPT, cron=REENCRYPT_CRON, key=REENCRYPT)
        await uow.commit()
