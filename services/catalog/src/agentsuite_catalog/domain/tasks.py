"""The task catalog: tasks, the hierarchical groups they belong to, and their history.

Groups form a DAG: a group may have several parents, and no group may be its own ancestor.
A task's key never changes; every change to a task makes a new revision (its spec's
`version`), recorded in its history with the status it left the task in.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_catalog.domain.metadata import check_metadata
from agentsuite_catalog.domain.tools import check_name
from agentsuite_contracts.catalog import (
    CatalogStatus,
    TaskCreated,
    TaskDeprecated,
    TaskGroupChanged,
    TaskSpec,
    TaskUpdated,
)
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.ids import uuid7
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_kit.schemas import check_schema

KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
MAX_PARENTS = 16
MAX_GROUPS = 32  # a task belongs to at most this many groups
MAX_TOOLS = 64
MAX_TEXT = 4_000
MAX_NAME = 200


def check_key(key: str, field: str = "key") -> str:
    if not KEY.match(key):
        raise Invalid(
            "key_invalid",
            "a key is 1-128 lowercase letters, digits, _ . -, starting with a letter or digit",
            field=field,
        )
    return key


def _text(value: str, field: str, limit: int, *, blank: bool = False) -> str:
    if (not blank and not value.strip()) or len(value) > limit:
        raise Invalid(
            f"{field}_invalid", f"{field} is not blank, at most {limit} characters", field=field
        )
    return value.strip()


def _keys(keys: Sequence[str], field: str, limit: int) -> tuple[str, ...]:
    if len(keys) > limit:
        raise Invalid(f"too_many_{field}", f"at most {limit} {field}", field=field)
    seen: dict[str, None] = {}
    for i, key in enumerate(keys):
        check_key(key, f"{field}[{i}]")
        seen[key] = None
    return tuple(seen)


# --- groups ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    id: UUID
    tenant_id: UUID
    key: str
    name: str
    description: str
    parents: tuple[str, ...]  # parent group keys
    version: int
    created_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupChange:
    """One entry of a group's history: the group as a change left it."""

    group_id: UUID
    revision: int
    name: str
    description: str
    parents: tuple[str, ...]
    metadata: dict[str, Any]
    at: datetime


def group_changed(group: Group, now: datetime) -> tuple[GroupChange, list[Payload]]:
    """The history entry and the event of a group as it now is (every change sends it
    whole: a projection of the hierarchy needs no call back). Parents sorted, as a read
    of the group lists them."""
    parents = tuple(sorted(group.parents))
    change = GroupChange(
        group.id, group.version, group.name, group.description, parents, group.metadata, now
    )
    event = TaskGroupChanged(
        group_id=group.id,
        key=group.key,
        name=group.name,
        description=group.description,
        parents=list(parents),
        metadata=group.metadata,
        revision=group.version,
    )
    return change, [event]


def check_parents(key: str, parents: Collection[str], ancestors: Collection[str]) -> None:
    """`ancestors`: every group above `parents` (their ancestors, transitively). A group
    among its own parents or their ancestors would close a cycle."""
    if key in parents or key in ancestors:
        raise Invalid(
            "group_cycle",
            f"group {key} would become its own ancestor: groups form a hierarchy without cycles",
            field="parents",
        )


def new_group(
    tenant_id: UUID,
    key: str,
    name: str,
    description: str,
    parents: Sequence[str],
    now: datetime,
    metadata: Any = None,
) -> Group:
    key = check_key(key)
    parent_keys = _keys(parents, "parents", MAX_PARENTS)
    check_parents(key, parent_keys, ())
    return Group(
        uuid7(),
        tenant_id,
        key,
        _text(name, "name", MAX_NAME),
        _text(description, "description", MAX_TEXT, blank=True),
        parent_keys,
        1,
        now,
        check_metadata({} if metadata is None else metadata),
    )


def edit_group(
    group: Group,
    name: str,
    description: str,
    parents: Sequence[str],
    ancestors: Collection[str],
    metadata: Any = None,
) -> Group:
    """The group with new fields; `ancestors` of the new parents decide whether it cycles."""
    parent_keys = _keys(parents, "parents", MAX_PARENTS)
    check_parents(group.key, parent_keys, ancestors)
    return replace(
        group,
        name=_text(name, "name", MAX_NAME),
        description=_text(description, "description", MAX_TEXT, blank=True),
        parents=parent_keys,
        version=group.version + 1,
        metadata=check_metadata({} if metadata is None else metadata),
    )


# --- tasks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskDraft:
    name: str
    description: str
    groups: Sequence[str] = ()
    tools: Sequence[str] = ()
    input_schema: Any = field(default_factory=dict)
    output_schema: Any = field(default_factory=dict)
    requires_approval: bool = False
    metadata: Any = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Task:
    id: UUID
    tenant_id: UUID
    status: CatalogStatus
    spec: TaskSpec
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def version(self) -> int:
        return self.spec.version


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a task's history: the revision and status a change left it in."""

    task_id: UUID
    revision: int
    status: CatalogStatus
    spec: TaskSpec
    note: str | None
    at: datetime


def _spec(key: str, version: int, draft: TaskDraft) -> TaskSpec:
    if len(draft.tools) > MAX_TOOLS:
        raise Invalid("too_many_tools", f"at most {MAX_TOOLS} tools", field="tools")
    tools = tuple(dict.fromkeys(draft.tools))
    for i, tool in enumerate(tools):
        try:
            check_name(tool)
        except Invalid as exc:
            raise Invalid(exc.code, exc.message, field=f"tools[{i}]") from None
    return TaskSpec(
        key=key,
        name=_text(draft.name, "name", MAX_NAME),
        description=_text(draft.description, "description", MAX_TEXT),
        version=version,
        groups=list(_keys(draft.groups, "groups", MAX_GROUPS)),
        tools=list(tools),
        input_schema=check_schema(draft.input_schema, "input_schema"),
        output_schema=check_schema(draft.output_schema, "output_schema"),
        requires_approval=draft.requires_approval,
        metadata=check_metadata(draft.metadata),
    )


def new_task(
    tenant_id: UUID, key: str, draft: TaskDraft, now: datetime
) -> tuple[Task, Change, list[Payload]]:
    spec = _spec(check_key(key), 1, draft)
    task = Task(uuid7(), tenant_id, CatalogStatus.DRAFT, spec, now, now)
    change = Change(task.id, 1, task.status, spec, "created", now)
    return task, change, [TaskCreated(task_id=task.id, spec=spec, status=task.status)]


def _changed(
    task: Task, spec: TaskSpec, status: CatalogStatus, note: str | None, now: datetime
) -> tuple[Task, Change, list[Payload]]:
    done = replace(task, spec=spec, status=status, updated_at=now)
    change = Change(task.id, spec.version, status, spec, note, now)
    event = TaskUpdated(task_id=task.id, spec=spec, status=status, change_note=note)
    return done, change, [event]


def edit_task(
    task: Task, draft: TaskDraft, note: str | None, now: datetime
) -> tuple[Task, Change, list[Payload]]:
    """The task's next revision; a deprecated task changes no more. A published task stays
    published (its consumers get the new revision)."""
    if task.status == CatalogStatus.DEPRECATED:
        raise Conflict("task_deprecated", f"task {task.key} is deprecated")
    if note is not None and len(note) > MAX_TEXT:
        raise Invalid("note_too_long", f"a note has at most {MAX_TEXT} characters", field="note")
    spec = _spec(task.key, task.version + 1, draft)
    return _changed(task, spec, task.status, note, now)


def publish_task(task: Task, now: datetime) -> tuple[Task, Change, list[Payload]]:
    if task.status != CatalogStatus.DRAFT:
        raise Conflict("not_a_draft", f"task {task.key} is {task.status.value}")
    spec = task.spec.model_copy(update={"version": task.version + 1})
    return _changed(task, spec, CatalogStatus.PUBLISHED, "published", now)


def deprecate_task(
    task: Task, reason: str | None, now: datetime
) -> tuple[Task, Change, list[Payload]]:
    if task.status == CatalogStatus.DEPRECATED:
        raise Conflict("task_deprecated", f"task {task.key} is deprecated already")
    spec = task.spec.model_copy(update={"version": task.version + 1})
    done = replace(task, spec=spec, status=CatalogStatus.DEPRECATED, updated_at=now)
    change = Change(task.id, spec.version, done.status, spec, reason or "deprecated", now)
    return done, change, [TaskDeprecated(task_id=task.id, key=task.key, reason=reason, spec=spec)]
