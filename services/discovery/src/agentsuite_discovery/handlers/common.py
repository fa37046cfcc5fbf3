"""What the session handlers share: the objective a session runs on, its state, who may
touch it, the view a client reads, and the events of a change."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import ObligationChanged
from agentsuite_discovery.domain.objectives import DEFAULT, Objective, Question, objective_of
from agentsuite_discovery.domain.sessions import ObligationState, State
from agentsuite_discovery.repositories.sessions import SessionRecord
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.errors import Conflict, NotFound
from agentsuite_kit.tenants import may_write

# A stored objective version never changes (a PUT makes the next one), so a session's turns
# need not read and re-check it each time: parsed once per (tenant, key, version), bounded.
_PARSED: OrderedDict[tuple[UUID, str, int], Objective] = OrderedDict()
PARSED_MAX = 256


def _remember(tenant: UUID | None, objective: Objective) -> None:
    if tenant is None:
        return
    _PARSED[(tenant, objective.key, objective.version)] = objective
    _PARSED.move_to_end((tenant, objective.key, objective.version))
    while len(_PARSED) > PARSED_MAX:
        _PARSED.popitem(last=False)


async def objective_for(uow: DiscoveryUow, key: str, version: int | None) -> Objective:
    """The objective `key` at `version` (None: its newest); the built-in default too."""
    # an all-tenants unit of work sees every tenant's rows: no one tenant to key them by
    tenant = None if uow.all_tenants else uow.tenant_id
    if tenant is not None and version is not None:
        known = _PARSED.get((tenant, key, version))
        if known is not None:
            _PARSED.move_to_end((tenant, key, version))
            return known
    stored = (
        await uow.objectives.newest(key)
        if version is None
        else await uow.objectives.get(key, version)
    )
    if stored is not None:
        objective = objective_of(stored.key, stored.version, stored.body)
        _remember(tenant, objective)
        return objective
    if key == DEFAULT.key and version in (None, DEFAULT.version):
        _remember(tenant, DEFAULT)  # no tenant may store `default`: it stays the built-in
        return DEFAULT
    at = "" if version is None else f" version {version}"
    raise NotFound("objective_not_found", f"no objective {key!r}{at}")


async def session_of(
    uow: DiscoveryUow, session_id: UUID, user_id: UUID | None, *, lock: bool = False
) -> SessionRecord:
    """The user's session; another user's (or tenant's, or none) is not found: a session
    is its user's conversation."""
    record = await uow.sessions.get(session_id, lock=lock)
    if record is None or record.user_id != user_id:
        raise NotFound("session_not_found", f"no session {session_id}")
    return record


async def held_session(
    uow: DiscoveryUow, session_id: UUID, user_id: UUID
) -> tuple[SessionRecord, State]:
    """`writable` then `session_of`, locked, with its obligations' states: one round trip."""
    held = await uow.sessions.held(session_id, lock=True)
    if held is None:
        await writable(uow)  # an inactive tenant is told so before "not found"
        raise NotFound("session_not_found", f"no session {session_id}")
    if not may_write(held.tenant):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    if held.record.user_id != user_id:
        raise NotFound("session_not_found", f"no session {session_id}")
    return held.record, held.state


async def writable(uow: DiscoveryUow) -> None:
    tenant = uow.tenant_id
    assert tenant is not None  # the edge and the consumers hand a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")


def question_view(question: Question) -> dict[str, Any]:
    """The question as stored on the session: which obligation it serves, from where."""
    return {
        "key": question.key,
        "obligation": question.obligation,
        "text": question.text,
        "source": question.source,
    }


def question_of(stored: Mapping[str, Any] | None) -> Question | None:
    """The question a session stored (`question_view`), to ask again."""
    if stored is None:
        return None
    return Question(
        key=stored["key"],
        text=stored["text"],
        obligation=stored["obligation"],
        source=stored["source"],
    )


def changed(before: Mapping[str, ObligationState], after: State) -> list[ObligationState]:
    """The obligations whose state differs (new ones included)."""
    return [st for key, st in after.items() if before.get(key) != st]


def emit_changes(uow: DiscoveryUow, session_id: UUID, states: Sequence[ObligationState]) -> None:
    for st in states:
        uow.emit(
            ObligationChanged(
                session_id=session_id,
                obligation=st.key,
                status=st.status,
                confidence=st.confidence,
                extraction_id=st.extraction_id,
            )
        )


def session_view(record: SessionRecord, objective: Objective, state: State) -> dict[str, Any]:
    """What `GET /v1/sessions/{id}` and the event stream show."""
    obligations = []
    for ob in objective.obligations:
        st = state.get(ob.key)
        obligations.append(
            {
                "key": ob.key,
                "title": ob.title,
                "required": ob.required,
                "status": None if st is None else st.status.value,
                "confidence": 0.0 if st is None else st.confidence,
                "required_confidence": ob.confidence,
                "value": None if st is None else st.value,
            }
        )
    return {
        "id": record.id,
        "objective": record.objective,
        "objective_version": record.objective_version,
        "title": record.title,
        "status": record.status,
        "reason": record.reason,
        "turns": record.turns,
        "tokens": record.tokens,
        "version": record.version,
        "obligations": obligations,
        "question": record.question,
        "requirements": record.requirements,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


async def load_view(uow: DiscoveryUow, record: SessionRecord) -> dict[str, Any]:
    objective = await objective_for(uow, record.objective, record.objective_version)
    return session_view(record, objective, await uow.sessions.state(record.id))
