"""Whether an event's envelope agrees with its payload, before any handler applies it.

A consumer scopes every read and write of a handler by the envelope (its tenant sets RLS,
its subject is the aggregate the partition key names), while the handler reads the
payload: when the two disagree, one of them is forged or broken, and applying the event
would write one aggregate's change under another's name. Nothing a retry changes either:
`check_envelope` raises `Invalid`, which the kit's consumer dead-letters at once (reason
`invalid`, the code and message as the error).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.registry import subject_of
from agentsuite_kit.errors import Invalid


def check_envelope(event: Envelope[Any], *, tenanted: bool = True) -> None:
    """Raise `Invalid` if `event`'s envelope and payload disagree:

    - `tenant_missing` (field `tenant_id`): `tenanted` and the envelope names no tenant
      (a projection or a run is a tenant's: a tenant-less row would be every tenant's or
      none's);
    - `tenant_mismatch` (field `tenant_id`): the payload names a tenant (identity's tenant
      events) and the envelope another one, or none;
    - `subject_mismatch` (field `subject`): the envelope's subject is not the aggregate the
      payload's topic key names (`tool_id` -> tool <id>). A payload outside the registry,
      or without its topic's key field, has nothing to compare.
    """
    if tenanted and event.tenant_id is None:
        raise Invalid("tenant_missing", f"{event.type} carries no tenant", field="tenant_id")
    named_tenant = getattr(event.payload, "tenant_id", None)
    if isinstance(named_tenant, UUID) and event.tenant_id != named_tenant:
        raise Invalid(
            "tenant_mismatch",
            f"{event.type}: an event of tenant {named_tenant} sent in the name of "
            f"{event.tenant_id}",
            field="tenant_id",
        )
    try:
        named = subject_of(event.payload)
    except (KeyError, ValueError):
        return
    if not same_subject(event.subject, named):
        raise Invalid(
            "subject_mismatch",
            f"{event.type}: the envelope's subject is {event.subject.type} "
            f"{event.subject.id}, its payload's {named.type} {named.id}",
            field="subject",
        )


def same_subject(a: Subject, b: Subject) -> bool:
    """Whether `a` and `b` are one aggregate: another producer may spell the same UUID
    upper-case or without hyphens, and the aggregate is the value, not its text."""
    if a.type != b.type:
        return False
    try:
        return UUID(a.id) == UUID(b.id)
    except ValueError:
        return a.id == b.id
