"""Routes of usage and traces: aggregates from the daily rollup, calls from the partitions."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import Pages, errors, gate
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_llm_gateway.api.common import AppDeps, Bounded, OrgUow, Uow
from agentsuite_llm_gateway.handlers import traces as handlers
from agentsuite_llm_gateway.handlers.traces import (
    GetTrace,
    ListTraces,
    TraceView,
    UsageQuery,
    UsageReport,
)
from agentsuite_llm_gateway.repositories.calls import TraceFilter, UsageFilter
from agentsuite_llm_gateway.trace_rows import day_of

DEFAULT_RANGE = timedelta(days=30)
MAX_RANGE = timedelta(days=400)

Status = Literal["ok", "error"]


def _invalid(field: str, message: str, code: str = "invalid_query") -> ProblemError:
    return ProblemError(
        422,
        f"{field}: {message}",
        code=code,
        field=field,
        errors=[{"loc": ["query", field], "msg": message, "type": "value_error"}],
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[from, to): default the last 30 days; at most 400 days, so a read stays bounded."""
    try:
        stop = datetime.now(UTC) if end is None else _utc(end)
    except (OverflowError, ValueError):
        raise _invalid("to", "out of range") from None
    try:
        begin = stop - DEFAULT_RANGE if start is None else _utc(start)
        day_of(begin)
    except (OverflowError, ValueError):
        raise _invalid("from", "out of range") from None
    if begin >= stop:
        raise _invalid("from", "must be before `to`")
    if stop - begin > MAX_RANGE:
        raise _invalid("from", f"the range may span at most {MAX_RANGE.days} days")
    return begin, stop


def _groups(group_by: str | None) -> list[str]:
    if group_by is None or not group_by.strip():
        return []
    found: list[str] = []
    for name in (part.strip() for part in group_by.split(",")):
        if name not in handlers.GROUP_NAMES:
            allowed = ", ".join(handlers.GROUP_NAMES)
            raise _invalid("group_by", f"unknown group {name!r} (one of {allowed})")
        if name not in found:
            found.append(name)
    return found


FromQuery = Annotated[
    datetime | None,
    Query(alias="from", description="Start, inclusive (ISO 8601; default: 30 days before `to`)."),
]
ToQuery = Annotated[
    datetime | None, Query(alias="to", description="End, exclusive (default: now).")
]
# PostgreSQL text cannot hold NUL: refused here, not by the driver (a 500)
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str | None, Query(max_length=256, pattern=NO_NUL)]


Reader = Annotated[Principal, gate("usage:read")]
# the traces confine themselves to an org-scoped token's org; the usage sums do not
Tracer = Annotated[Principal, gate("usage:read", org=True)]

routes = APIRouter(prefix="/v1", tags=["usage"], route_class=Bounded)


@routes.get("/usage", response_model=UsageReport)
async def usage(
    principal: Reader,
    uow: Uow,
    deps: AppDeps,
    start: FromQuery = None,
    end: ToQuery = None,
    group_by: Annotated[
        str | None,
        Query(
            max_length=256,
            pattern=NO_NUL,
            description="Comma-separated: " + ", ".join(handlers.GROUP_NAMES) + ".",
        ),
    ] = None,
    model: Text = None,
    provider: Text = None,
    api_key_id: UUID | None = None,
    user_id: UUID | None = None,
    prompt: Annotated[
        str | None,
        Query(max_length=64, pattern=NO_NUL, description="`<prompt id>` or `<id>:<version>`."),
    ] = None,
    status: Status | None = None,
) -> UsageReport:
    """Tokens, cost and latency summed per group, from the daily rollup (whole UTC days:
    `from` counts from its day's start)."""
    groups = _groups(group_by)
    begin, stop = _range(start, end)
    where = UsageFilter(
        start=day_of(begin),
        end=stop,
        model=model,
        provider=provider,
        api_key_id=None if api_key_id is None else str(api_key_id),
        user_id=None if user_id is None else str(user_id),
        prompt=prompt,
        status=status,
    )
    return await handlers.usage_report(UsageQuery(groups, where), uow, deps)


@routes.get(
    "/traces", response_model=Page[TraceView], responses=errors((400, "The cursor is invalid."))
)
async def list_traces(
    principal: Tracer,
    page: Pages,
    uow: OrgUow,
    deps: AppDeps,
    start: FromQuery = None,
    end: ToQuery = None,
    model: Text = None,
    status: Status | None = None,
    run_id: Text = None,
    api_key_id: UUID | None = None,
    user_id: UUID | None = None,
    request_id: UUID | None = None,
) -> Page[TraceView]:
    """Recorded calls, newest first. Traces are written in batches a moment after the
    call; those older than the retention are gone (usage keeps their sums)."""
    begin, stop = _range(start, end)
    after = shaped(page, datetime, UUID)
    where = TraceFilter(
        start=begin,
        end=stop,
        model=model,
        status=status,
        run_id=run_id,
        api_key_id=api_key_id,
        user_id=user_id,
        request_id=request_id,
        # a token scoped to an org reads that org's calls only (issue 21)
        org_id=principal.org_id,
    )
    views = await handlers.list_traces(ListTraces(where, after, page.limit), uow, deps)
    return paginate(views, page.limit, lambda v: (v.created_at, v.call_id))


@routes.get("/traces/{call_id}", response_model=TraceView)
async def get_trace(call_id: UUID, principal: Tracer, uow: OrgUow, deps: AppDeps) -> TraceView:
    view = await handlers.get_trace(GetTrace(call_id), uow, deps)
    if view is None or not principal.reaches(view.org_id):
        raise ProblemError(404, "No such trace.", code="not_found")
    return view
