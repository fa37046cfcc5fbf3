"""Triggers, their public routes and their deliveries. Reads of a trigger never select its
sealed secrets; `sealed` reads them only to verify a delivery or to rotate."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import TriggerKind, TriggerSpec
from agentsuite_kit.db import Repository
from agentsuite_planning.domain.triggers import Trigger
from agentsuite_planning.repositories.tables import deliveries, trigger_routes, triggers

_NOW = func.now()
_SHOWN = (
    triggers.c.id,
    triggers.c.tenant_id,
    triggers.c.plan_id,
    triggers.c.plan_version,
    triggers.c.label,
    triggers.c.kind,
    triggers.c.enabled,
    triggers.c.revision,
    triggers.c.created_by,
    triggers.c.previous_until,
)


def _trigger(row: RowMapping) -> Trigger:
    spec = TriggerSpec(
        plan_id=row["plan_id"],
        plan_version=row["plan_version"],
        label=row["label"],
        kind=TriggerKind(row["kind"]),
        enabled=row["enabled"],
    )
    return Trigger(
        row["id"], row["tenant_id"], spec, row["revision"], row["created_by"], row["previous_until"]
    )


def _spec_columns(spec: TriggerSpec) -> dict[str, object]:
    return {
        "plan_id": spec.plan_id,
        "plan_version": spec.plan_version,
        "label": spec.label,
        "kind": spec.kind.value,
        "enabled": spec.enabled,
    }


class Triggers(Repository):
    async def add(self, trigger: Trigger, sealed: tuple[bytes, str] | None) -> None:
        blob, key_id = sealed if sealed is not None else (None, None)
        await self.session.execute(
            insert(triggers),
            {
                "id": trigger.id,
                "tenant_id": trigger.tenant_id,
                **_spec_columns(trigger.spec),
                "secret": blob,
                "secret_key_id": key_id,
                "created_by": trigger.created_by,
                "revision": trigger.revision,
            },
        )
        await self.session.execute(
            insert(trigger_routes), {"trigger_id": trigger.id, "owner_tenant": trigger.tenant_id}
        )

    async def get(self, trigger_id: UUID, *, lock: bool = False) -> Trigger | None:
        """The trigger, or None (another tenant's too: RLS hides it)."""
        query = select(*_SHOWN).where(triggers.c.id == trigger_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _trigger(row)

    async def page(self, after: UUID | None, limit: int) -> list[Trigger]:
        query = select(*_SHOWN).order_by(triggers.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(triggers.c.id > after)
        return [_trigger(r) for r in (await self.session.execute(query)).mappings()]

    async def sealed(self, trigger_id: UUID) -> RowMapping | None:
        """The sealed secrets and their key ids, to verify a delivery or to rotate."""
        query = select(
            triggers.c.secret,
            triggers.c.secret_key_id,
            triggers.c.previous_secret,
            triggers.c.previous_key_id,
            triggers.c.previous_until,
        ).where(triggers.c.id == trigger_id)
        return (await self.session.execute(query)).mappings().first()

    async def save(self, trigger: Trigger, expected: int) -> bool:
        """Write the spec if the row is still at revision `expected`."""
        done = await self.session.execute(
            update(triggers)
            .where(triggers.c.id == trigger.id, triggers.c.revision == expected)
            .values(**_spec_columns(trigger.spec), revision=trigger.revision, updated_at=_NOW)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]  # a CursorResult at runtime

    async def rotate(
        self, trigger_id: UUID, sealed: tuple[bytes, str], until: datetime, revision: int
    ) -> None:
        """The new secret current, the old one kept until `until` (the row is locked)."""
        blob, key_id = sealed
        await self.session.execute(
            update(triggers)
            .where(triggers.c.id == trigger_id)
            .values(
                previous_secret=triggers.c.secret,
                previous_key_id=triggers.c.secret_key_id,
                previous_until=until,
                secret=blob,
                secret_key_id=key_id,
                revision=revision,
                updated_at=_NOW,
            )
        )

    async def remove(self, trigger_id: UUID, expected: int | None) -> bool:
        query = delete(triggers).where(triggers.c.id == trigger_id)
        if expected is not None:
            query = query.where(triggers.c.revision == expected)
        done = await self.session.execute(query)
        if not done.rowcount:  # type: ignore[attr-defined]  # a CursorResult at runtime
            return False
        await self.session.execute(
            delete(trigger_routes).where(trigger_routes.c.trigger_id == trigger_id)
        )
        return True


class TriggerRoutes(Repository):
    """Read without a tenant: the table has no RLS by design (id -> tenant only)."""

    async def tenant_of(self, trigger_id: UUID) -> UUID | None:
        found = await self.session.scalar(
            select(trigger_routes.c.owner_tenant).where(trigger_routes.c.trigger_id == trigger_id)
        )
        return found if isinstance(found, UUID) else None


class Deliveries(Repository):
    async def accept(
        self, tenant_id: UUID, trigger_id: UUID, delivery_id: str, version: int
    ) -> bool:
        """Record the delivery accepted; False when it was accepted before (a duplicate).
        A delivery refused before is accepted now: a sender retries a refusal. The unique
        (trigger, delivery) index makes a concurrent second attempt wait for the first and
        then find it accepted."""
        return await self._record(tenant_id, trigger_id, delivery_id, "accepted", None, version)

    async def refuse(
        self, tenant_id: UUID, trigger_id: UUID, delivery_id: str, reason: str
    ) -> bool:
        """Record the refusal; False when the delivery was accepted before (a duplicate)."""
        return await self._record(tenant_id, trigger_id, delivery_id, "refused", reason, None)

    async def _record(
        self,
        tenant_id: UUID,
        trigger_id: UUID,
        delivery_id: str,
        state: str,
        reason: str | None,
        version: int | None,
    ) -> bool:
        values = {
            "id": uuid7(),
            "tenant_id": tenant_id,
            "trigger_id": trigger_id,
            "delivery_id": delivery_id,
            "state": state,
            "reason": reason,
            "plan_version": version,
        }
        upsert = pg_insert(deliveries).values(values)
        statement = upsert.on_conflict_do_update(
            constraint="uq_deliveries_trigger_delivery",
            set_={
                "state": upsert.excluded.state,
                "reason": upsert.excluded.reason,
                "plan_version": upsert.excluded.plan_version,
                "at": _NOW,
            },
            where=deliveries.c.state == "refused",
        ).returning(deliveries.c.id)
        return (await self.session.execute(statement)).first() is not None
