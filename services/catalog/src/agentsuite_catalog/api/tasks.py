"""The task catalog: groups (a DAG) and tasks (revisions, history, publish, deprecate)."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_catalog.api.edge import (
    MAX_BODY,
    AppDeps,
    IdempotencyKey,
    TaskReader,
    TaskWriter,
    Uow,
)
from agentsuite_catalog.domain.tasks import (
    MAX_GROUPS,
    MAX_NAME,
    MAX_TEXT,
    MAX_TOOLS,
    Change,
    Task,
    TaskDraft,
)
from agentsuite_catalog.handlers import tasks as handlers
from agentsuite_contracts.catalog import CatalogStatus, TaskSpec
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    IfMatch,
    Pages,
    bounded,
    created,
    errors,
    found,
    tagged,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Int32, Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=bounded(MAX_BODY))

Key = Annotated[str, Field(min_length=1, max_length=128)]
INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")
STALE = (412, "If-Match names another version than the current one.")
NO_MATCH = (428, "If-Match is required.")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Metadata = Annotated[
    dict[str, Any],
    Field(description="Free-form JSON object, at most 8 levels deep and 16 KiB as JSON."),
]


class TaskFields(Body):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    groups: list[Key] = Field(default_factory=list, max_length=MAX_GROUPS)
    tools: list[Key] = Field(default_factory=list, max_length=MAX_TOOLS)
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)
    requires_approval: bool = False
    metadata: Metadata = Field(default_factory=dict)

    def draft(self) -> TaskDraft:
        return TaskDraft(
            name=self.name,
            description=self.description,
            groups=tuple(self.groups),
            tools=tuple(self.tools),
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            requires_approval=self.requires_approval,
            metadata=self.metadata,
        )


class TaskIn(TaskFields):
    key: Key = Field(description="Stable key, e.g. `research.competitors`; never changes.")


class TaskEdit(TaskFields):
    note: str | None = Field(default=None, max_length=MAX_TEXT, description="Why it changed.")


class DeprecateTaskIn(Body):
    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class TaskView(BaseModel):
    id: UUID
    key: str
    status: CatalogStatus
    version: int
    spec: TaskSpec
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> "TaskView":
        return cls(
            id=task.id,
            key=task.key,
            status=task.status,
            version=task.version,
            spec=task.spec,
            created_at=task.created_at,
            updated_at=task.updated_at,
        )


class ChangeView(BaseModel):
    revision: int
    status: CatalogStatus
    spec: TaskSpec
    note: str | None
    at: datetime

    @classmethod
    def of(cls, change: Change) -> "ChangeView":
        return cls(
            revision=change.revision,
            status=change.status,
            spec=change.spec,
            note=change.note,
            at=change.at,
        )


# --- tasks -----------------------------------------------------------------------------


@router.post(
    "/tasks",
    status_code=201,
    response_model=TaskView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_task(
    body: TaskIn,
    request: Request,
    principal: TaskWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Add a task to the catalog, a draft. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    task = await handlers.create_task(handlers.CreateTask(body.key, body.draft()), uow, deps)
    headers = {"Location": f"/v1/tasks/{task.id}"}
    return await created(idem, uow, TaskView.of(task), version=task.version, headers=headers)


@router.get("/tasks", response_model=Page[TaskView], responses=errors(BAD_CURSOR))
async def list_tasks(
    principal: TaskReader,
    uow: Uow,
    pages: Pages,
    group: Annotated[
        UUID | None, Query(description="Only tasks in this group or a group below it.")
    ] = None,
) -> Page[TaskView]:
    """The tenant's tasks by key."""
    rows = await uow.tasks.page(shaped(pages, str), pages.limit, group=group)
    page = paginate(rows, pages.limit, lambda t: (t.key,))
    return Page[TaskView](items=[TaskView.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/tasks/{task_id}", response_model=TaskView, responses=errors(NOT_FOUND))
async def get_task(task_id: UUID, response: Response, principal: TaskReader, uow: Uow) -> TaskView:
    """One task at its current revision; its ETag is that revision."""
    task = found(await uow.tasks.get(task_id), f"no task {task_id}", "task_not_found")
    return tagged(response, TaskView.of(task))


@router.put(
    "/tasks/{task_id}",
    response_model=TaskView,
    responses=errors(
        NOT_FOUND,
        (409, "The task is deprecated, or the tenant is suspended or deleted."),
        STALE,
        NO_MATCH,
        INVALID,
        TOO_LARGE,
    ),
)
async def put_task(
    task_id: UUID,
    body: TaskEdit,
    response: Response,
    principal: TaskWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatch,
) -> TaskView:
    """The task's next revision (its history keeps every one). Needs `If-Match`."""
    command = handlers.EditTask(task_id, body.draft(), if_match.check, body.note)
    task = await handlers.edit_task(command, uow, deps)
    await uow.commit()
    return tagged(response, TaskView.of(task))


@router.post(
    "/tasks/{task_id}/publish",
    response_model=TaskView,
    responses=errors(NOT_FOUND, (409, "Not a draft, or the tenant is inactive.")),
)
async def publish_task(
    task_id: UUID, response: Response, principal: TaskWriter, uow: Uow, deps: AppDeps
) -> TaskView:
    """Publish a draft task."""
    task = await handlers.publish_task(handlers.PublishTask(task_id), uow, deps)
    await uow.commit()
    return tagged(response, TaskView.of(task))


@router.post(
    "/tasks/{task_id}/deprecate",
    response_model=TaskView,
    responses=errors(NOT_FOUND, (409, "Deprecated already, or the tenant is inactive."), INVALID),
)
async def deprecate_task(
    task_id: UUID,
    response: Response,
    principal: TaskWriter,
    uow: Uow,
    deps: AppDeps,
    body: DeprecateTaskIn | None = None,
) -> TaskView:
    """Deprecate the task: it changes no more."""
    reason = None if body is None else body.reason
    task = await handlers.deprecate_task(handlers.DeprecateTask(task_id, reason), uow, deps)
    await uow.commit()
    return tagged(response, TaskView.of(task))


@router.get(
    "/tasks/{task_id}/history",
    response_model=Page[ChangeView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def task_history(
    task_id: UUID, principal: TaskReader, uow: Uow, pages: Pages
) -> Page[ChangeView]:
    """Every change to the task, oldest first: the revision and status it left."""
    found(await uow.tasks.get(task_id), f"no task {task_id}", "task_not_found")
    rows = await uow.tasks.history(task_id, shaped(pages, Int32), pages.limit)
    page = paginate(rows, pages.limit, lambda c: (c.revision,))
    items = [ChangeView.of(c) for c in page.items]
    return Page[ChangeView](items=items, next_cursor=page.next_cursor)
