"""Events whose envelope and payload disagree are refused before any handler applies
them: dead-lettered at once (`PermanentError`), never projected. A planning event whose
envelope named plan X version 3 around a snapshot of plan Y version 1 was accepted, and
runs of it reported version 1.

What is checked: the envelope's subject is the aggregate its payload names (the topic's
key field, as every producer's unit of work sets it), and the ids and versions a payload
repeats agree. No payload on execution's topics carries a tenant: the envelope's tenant
scopes every read and write of its handler (RLS), so it cannot disagree with one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from agentsuite_contracts.envelope import Envelope, Payload, Subject
from agentsuite_contracts.planning import PlanApproved
from agentsuite_contracts.registry import subject_of
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.messaging.consumer import Handler
from agentsuite_kit.messaging.errors import PermanentError
from agentsuite_kit.runtime import ConsumerSpec


def check(event: Envelope[Any]) -> None:
    """Raise `PermanentError` naming the disagreement, if there is one."""
    payload = event.payload
    try:
        named = subject_of(payload)
    except (KeyError, ValueError):
        named = None  # a type outside the registry's keys: nothing to compare
    if named is not None and not _same(event.subject, named):
        raise PermanentError(
            f"{event.type}: the envelope's subject is {event.subject.type} "
            f"{event.subject.id}, its payload's {named.type} {named.id}"
        )
    if isinstance(payload, PlanApproved):
        snapshot = payload.plan
        if (snapshot.plan_id, snapshot.version) != (payload.plan_id, payload.version):
            raise PermanentError(
                f"{event.type}: approves plan {payload.plan_id} version {payload.version}, "
                f"its snapshot is plan {snapshot.plan_id} version {snapshot.version}"
            )


def _same(a: Subject, b: Subject) -> bool:
    # another producer may spell the same UUID upper-case or without hyphens: the
    # aggregate is the value, not its text
    if a.type != b.type:
        return False
    try:
        return UUID(a.id) == UUID(b.id)
    except ValueError:
        return a.id == b.id


def checked(handler: Handler[ExecutionUow]) -> Handler[ExecutionUow]:
    async def handle(event: Envelope[Any], uow: ExecutionUow) -> None:
        check(event)
        await handler(event, uow)

    return handle


def guarded(spec: ConsumerSpec[ExecutionUow]) -> ConsumerSpec[ExecutionUow]:
    """`spec` with every handler behind `check`."""
    handlers: Mapping[type[Payload], Handler[ExecutionUow]] = {
        kind: checked(handler) for kind, handler in spec.handlers.items()
    }
    return replace(spec, handlers=handlers)
