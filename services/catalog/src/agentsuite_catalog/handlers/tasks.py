"""The task catalog: groups (a DAG, a cycle refused) and tasks (revisions, history,
publish, deprecate). Every task change is recorded in its history and emitted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import tasks as domain
from agentsuite_catalog.domain.search import task_entry
from agentsuite_catalog.domain.tasks import Change, Group, Task, TaskDraft
from agentsuite_catalog.handlers.common import emit, now, writable
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.envelope import Payload
from agentsuite_kit.errors import Conflict, Invalid, NotFound

Check = Callable[[int | None], None]


@dataclass(frozen=True, slots=True)
class CreateGroup:
    key: str
    name: str
    description: str = ""
    parents: Sequence[str] = ()
    metadata: Any = None


@dataclass(frozen=True, slots=True)
class EditGroup:
    group_id: UUID
    name: str
    check: Check
    description: str = ""
    parents: Sequence[str] = ()
    metadata: Any = None


@dataclass(frozen=True, slots=True)
class CreateTask:
    key: str
    draft: TaskDraft


@dataclass(frozen=True, slots=True)
class EditTask:
    task_id: UUID
    draft: TaskDraft
    check: Check
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PublishTask:
    task_id: UUID


@dataclass(frozen=True, slots=True)
class DeprecateTask:
    task_id: UUID
    reason: str | None = None


async def _existing(uow: CatalogUow, keys: Sequence[str], field: str) -> dict[str, UUID]:
    """The ids of groups `keys`; one that does not exist is an Invalid naming it."""
    found = await uow.tasks.group_ids(keys)
    for i, key in enumerate(keys):
        if key not in found:
            raise Invalid("group_unknown", f"no task group {key}", field=f"{field}[{i}]")
    return found


async def create_group(command: CreateGroup, uow: CatalogUow, deps: Deps) -> Group:
    tenant_id = await writable(uow)
    group = domain.new_group(
        tenant_id,
        command.key,
        command.name,
        command.description,
        command.parents,
        now(),
        command.metadata,
    )
    await uow.tasks.lock_hierarchy()
    parents = await _existing(uow, group.parents, "parents")
    if not await uow.tasks.add_group(group, parents):
        raise Conflict("key_taken", f"a task group {group.key} exists", field="key")
    await _group_changed(uow, group)
    return group


async def _group_changed(uow: CatalogUow, group: Group) -> None:
    change, events = domain.group_changed(group, now())
    await uow.tasks.record_group(group.tenant_id, change)
    emit(uow, events)


async def edit_group(command: EditGroup, uow: CatalogUow, deps: Deps) -> Group:
    await writable(uow)
    await uow.tasks.lock_hierarchy()
    group = await uow.tasks.group(command.group_id, lock=True)
    if group is None:
        raise NotFound("group_not_found", f"no task group {command.group_id}")
    command.check(group.version)
    parents = await _existing(uow, command.parents, "parents")
    ancestors = await uow.tasks.ancestors(list(parents.values()))
    edited = domain.edit_group(
        group, command.name, command.description, command.parents, ancestors, command.metadata
    )
    await uow.tasks.save_group(edited, parents)
    await _group_changed(uow, edited)
    return edited


async def _check_tools(uow: CatalogUow, names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        if await uow.tools.by_name(name) is None:
            raise Invalid("tool_unknown", f"no tool named {name}", field=f"tools[{i}]")


async def create_task(command: CreateTask, uow: CatalogUow, deps: Deps) -> Task:
    tenant_id = await writable(uow)
    task, change, events = domain.new_task(tenant_id, command.key, command.draft, now())
    groups = await _existing(uow, task.spec.groups, "groups")
    await _check_tools(uow, task.spec.tools)
    if not await uow.tasks.add(task, groups):
        raise Conflict("key_taken", f"a task {task.key} exists", field="key")
    await uow.tasks.record(tenant_id, change)
    await uow.search.put(task_entry(task))
    emit(uow, events)
    return task


async def _task(uow: CatalogUow, task_id: UUID) -> Task:
    task = await uow.tasks.get(task_id, lock=True)
    if task is None:
        raise NotFound("task_not_found", f"no task {task_id}")
    return task


async def _save(
    uow: CatalogUow,
    tenant_id: UUID,
    changed: tuple[Task, Change, list[Payload]],
    groups: dict[str, UUID] | None = None,
) -> Task:
    task, change, events = changed
    await uow.tasks.save(task, groups)
    await uow.tasks.record(tenant_id, change)
    await uow.search.put(task_entry(task))
    emit(uow, events)
    return task


async def edit_task(command: EditTask, uow: CatalogUow, deps: Deps) -> Task:
    tenant_id = await writable(uow)
    task = await _task(uow, command.task_id)
    command.check(task.version)
    changed = domain.edit_task(task, command.draft, command.note, now())
    groups = await _existing(uow, changed[0].spec.groups, "groups")
    await _check_tools(uow, changed[0].spec.tools)
    return await _save(uow, tenant_id, changed, groups)


async def publish_task(command: PublishTask, uow: CatalogUow, deps: Deps) -> Task:
    tenant_id = await writable(uow)
    task = await _task(uow, command.task_id)
    return await _save(uow, tenant_id, domain.publish_task(task, now()))


async def deprecate_task(command: DeprecateTask, uow: CatalogUow, deps: Deps) -> Task:
    tenant_id = await writable(uow)
    task = await _task(uow, command.task_id)
    return await _save(uow, tenant_id, domain.deprecate_task(task, command.reason, now()))
