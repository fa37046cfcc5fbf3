"""Every `execution.*` event goes two ways in the same transaction: to the outbox (Kafka)
and to the run's log (what `GET /v1/executions/{id}/events` streams and the timeline reads).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_contracts.envelope import Payload
from agentsuite_execution.domain.runs import Step
from agentsuite_execution.uow import ExecutionUow

READY_CHANNEL = "execution_ready"

# payload fields kept out of the log's data: the log is for watching, the event for acting
_LOGGED_OUT = {"type"}


def record(
    uow: ExecutionUow,
    tenant_id: UUID,
    execution_id: UUID,
    payload: Payload,
    *,
    key: str | None = None,
    level: str = "info",
) -> None:
    """Queue `payload` for the outbox and its log row (both written at commit)."""
    # one story per run: every event of an execution shares its id as correlation (the
    # engine's sweeps emit for the run's tenant from an all-tenants unit of work)
    uow.emit(payload, tenant_id=tenant_id, correlation_id=execution_id)
    data = payload.model_dump(mode="json", exclude=_LOGGED_OUT | {"execution_id"})
    uow.log.queue(
        {
            "tenant_id": tenant_id,
            "execution_id": execution_id,
            "key": key,
            "type": payload.type,
            "level": level,
            "data": data,
        },
    )


def record_step(uow: ExecutionUow, step: Step, payload: Payload, *, level: str = "info") -> None:
    """`record` an event of `step`: in its run's log under the step's key."""
    record(uow, step.tenant_id, step.execution_id, payload, key=step.key, level=level)


def line(
    uow: ExecutionUow,
    tenant_id: UUID,
    execution_id: UUID,
    key: str | None,
    message: str,
    *,
    level: str = "info",
    **data: Any,
) -> None:
    """A step's own log line (no event): what a tool or agent did along the way."""
    uow.log.queue(
        {
            "tenant_id": tenant_id,
            "execution_id": execution_id,
            "key": key,
            "type": "log",
            "level": level,
            "data": {"message": message, **data},
        },
    )


async def wake(uow: ExecutionUow) -> None:
    """Tell every engine that steps became ready (sent when this transaction commits,
    once however often it is asked for)."""
    uow.notify(READY_CHANNEL)
