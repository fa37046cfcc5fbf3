"""The task catalog's SQL: groups and their DAG, tasks, memberships, history (RLS confines
every statement to the unit of work's tenant)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ScalarSelect, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_catalog.domain.tasks import Change, Group, GroupChange, Task
from agentsuite_catalog.repositories.tables import (
    task_group_edges,
    task_group_history,
    task_group_members,
    task_groups,
    task_history,
    tasks,
)
from agentsuite_contracts.catalog import CatalogStatus, TaskSpec
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

EDGES, GROUPS, MEMBERS = task_group_edges, task_groups, task_group_members


def _parents_of(group_id: Any) -> ScalarSelect[Any]:
    """A group's parent keys (NULL when it has none: array_agg of no rows)."""
    parent = GROUPS.alias("parent")
    return (
        select(func.array_agg(parent.c.key))
        .select_from(EDGES.join(parent, parent.c.id == EDGES.c.parent_id))
        .where(EDGES.c.child_id == group_id)
        .scalar_subquery()
    )


_GROUP = select(
    GROUPS.c.id,
    GROUPS.c.tenant_id,
    GROUPS.c.key,
    GROUPS.c.name,
    GROUPS.c.description,
    GROUPS.c.version,
    GROUPS.c.created_at,
    GROUPS.c.metadata,
    _parents_of(GROUPS.c.id).label("parents"),
)


def _group(row: RowMapping) -> Group:
    return Group(
        row["id"],
        row["tenant_id"],
        row["key"],
        row["name"],
        row["description"],
        tuple(sorted(row["parents"] or ())),
        row["version"],
        row["created_at"],
        row["metadata"],
    )


def _task(row: RowMapping) -> Task:
    return Task(
        row["id"],
        row["tenant_id"],
        CatalogStatus(row["status"]),
        TaskSpec.model_validate(row["spec"]),
        row["created_at"],
        row["updated_at"],
    )


class Tasks(Repository):
    # --- groups ------------------------------------------------------------------------

    async def lock_hierarchy(self) -> None:
        """Serialize changes to the tenant's group edges: two concurrent edits could each
        pass the cycle check and close a cycle together."""
        tenant = str(self.session.info["tenant"])
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("catalog.task_groups:" + tenant)))
        )

    async def group_ids(self, keys: Collection[str]) -> dict[str, UUID]:
        """The ids of the groups among `keys` that exist."""
        if not keys:
            return {}
        rows = await self.session.execute(
            select(GROUPS.c.key, GROUPS.c.id).where(GROUPS.c.key.in_(list(keys)))
        )
        return {key: group_id for key, group_id in rows}

    async def ancestors(self, group_ids: Collection[UUID]) -> set[str]:
        """The keys of every group above `group_ids` (not theirs), through any path.
        UNION (not UNION ALL) keeps the walk finite even over a cyclic graph."""
        if not group_ids:
            return set()
        up = (
            select(EDGES.c.parent_id.label("id"))
            .where(EDGES.c.child_id.in_(list(group_ids)))
            .cte("up", recursive=True)
        )
        up = up.union(select(EDGES.c.parent_id).where(EDGES.c.child_id == up.c.id))
        rows = await self.session.execute(
            select(GROUPS.c.key).where(GROUPS.c.id.in_(select(up.c.id)))
        )
        return set(rows.scalars())

    async def add_group(self, group: Group, parents: Mapping[str, UUID]) -> bool:
        """Save a new group; False when its key is taken."""
        made = await self.session.execute(
            pg_insert(GROUPS)
            .values(
                id=group.id,
                tenant_id=group.tenant_id,
                key=group.key,
                name=group.name,
                description=group.description,
                version=group.version,
                created_at=group.created_at,
                metadata=group.metadata,
            )
            .on_conflict_do_nothing(constraint="uq_task_groups_tenant_key")
            .returning(GROUPS.c.id)
        )
        if made.first() is None:
            return False
        await self._link(group, parents)
        return True

    async def save_group(self, group: Group, parents: Mapping[str, UUID]) -> None:
        await self.session.execute(
            update(GROUPS)
            .where(GROUPS.c.id == group.id)
            .values(
                name=group.name,
                description=group.description,
                version=group.version,
                metadata=group.metadata,
            )
        )
        await self.session.execute(delete(EDGES).where(EDGES.c.child_id == group.id))
        await self._link(group, parents)

    async def _link(self, group: Group, parents: Mapping[str, UUID]) -> None:
        if parents:
            await self.session.execute(
                insert(EDGES),
                [
                    {"child_id": group.id, "parent_id": p, "tenant_id": group.tenant_id}
                    for p in parents.values()
                ],
            )

    async def group(self, group_id: UUID, *, lock: bool = False) -> Group | None:
        query = _GROUP.where(GROUPS.c.id == group_id)
        if lock:
            query = query.with_for_update(of=GROUPS)
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _group(row)

    async def groups_page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Group]:
        query = _GROUP.order_by(GROUPS.c.key).limit(limit + 1)
        if after is not None:
            query = query.where(GROUPS.c.key > after[0])
        return [_group(r) for r in (await self.session.execute(query)).mappings()]

    async def record_group(self, tenant_id: UUID, change: GroupChange) -> None:
        await self.session.execute(
            insert(task_group_history).values(
                group_id=change.group_id,
                revision=change.revision,
                tenant_id=tenant_id,
                name=change.name,
                description=change.description,
                parents=list(change.parents),
                metadata=change.metadata,
                at=change.at,
            )
        )

    async def group_history(
        self, group_id: UUID, after: Sequence[CursorValue] | None, limit: int
    ) -> list[GroupChange]:
        history = task_group_history
        query = (
            select(history)
            .where(history.c.group_id == group_id)
            .order_by(history.c.revision)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(history.c.revision > after[0])
        rows = (await self.session.execute(query)).mappings()
        return [
            GroupChange(
                r["group_id"],
                r["revision"],
                r["name"],
                r["description"],
                tuple(r["parents"]),
                r["metadata"],
                r["at"],
            )
            for r in rows
        ]

    # --- tasks ---------------------------------------------------------------------------

    async def add(self, task: Task, groups: Mapping[str, UUID]) -> bool:
        """Save a new task with its memberships; False when its key is taken."""
        made = await self.session.execute(
            pg_insert(tasks)
            .values(
                id=task.id,
                tenant_id=task.tenant_id,
                key=task.key,
                status=task.status.value,
                spec=task.spec.model_dump(mode="json"),
                created_at=task.created_at,
                updated_at=task.updated_at,
            )
            .on_conflict_do_nothing(constraint="uq_tasks_tenant_key")
            .returning(tasks.c.id)
        )
        if made.first() is None:
            return False
        await self._members(task, groups)
        return True

    async def save(self, task: Task, groups: Mapping[str, UUID] | None = None) -> None:
        """The task's new revision (and memberships, when given)."""
        await self.session.execute(
            update(tasks)
            .where(tasks.c.id == task.id)
            .values(
                status=task.status.value,
                spec=task.spec.model_dump(mode="json"),
                updated_at=task.updated_at,
            )
        )
        if groups is not None:
            await self.session.execute(delete(MEMBERS).where(MEMBERS.c.task_id == task.id))
            await self._members(task, groups)

    async def _members(self, task: Task, groups: Mapping[str, UUID]) -> None:
        if groups:
            await self.session.execute(
                insert(MEMBERS),
                [
                    {"task_id": task.id, "group_id": g, "tenant_id": task.tenant_id}
                    for g in groups.values()
                ],
            )

    async def get(self, task_id: UUID, *, lock: bool = False) -> Task | None:
        query = select(tasks).where(tasks.c.id == task_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _task(row)

    async def page(
        self, after: Sequence[CursorValue] | None, limit: int, *, group: UUID | None = None
    ) -> list[Task]:
        """Tasks by key; with `group`, those in it or in any group below it."""
        query = select(tasks).order_by(tasks.c.key).limit(limit + 1)
        if after is not None:
            query = query.where(tasks.c.key > after[0])
        if group is not None:
            down = select(literal(group).label("id")).cte("down", recursive=True)
            down = down.union(select(EDGES.c.child_id).where(EDGES.c.parent_id == down.c.id))
            inside = select(MEMBERS.c.task_id).where(MEMBERS.c.group_id.in_(select(down.c.id)))
            query = query.where(tasks.c.id.in_(inside))
        return [_task(r) for r in (await self.session.execute(query)).mappings()]

    async def record(self, tenant_id: UUID, change: Change) -> None:
        await self.session.execute(
            insert(task_history).values(
                task_id=change.task_id,
                revision=change.revision,
                tenant_id=tenant_id,
                status=change.status.value,
                spec=change.spec.model_dump(mode="json"),
                note=change.note,
                at=change.at,
            )
        )

    async def history(
        self, task_id: UUID, after: Sequence[CursorValue] | None, limit: int
    ) -> list[Change]:
        query = (
            select(task_history)
            .where(task_history.c.task_id == task_id)
            .order_by(task_history.c.revision)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(task_history.c.revision > after[0])
        rows = (await self.session.execute(query)).mappings()
        return [
            Change(
                r["task_id"],
                r["revision"],
                CatalogStatus(r["status"]),
                TaskSpec.model_validate(r["spec"]),
                r["note"],
                r["at"],
            )
            for r in rows
        ]
