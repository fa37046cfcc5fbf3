"""ABAC policies: create, change, delete, and dry-run a change against recorded decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.identity import PolicyCreated, PolicyDeleted, PolicyUpdated
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.access import policy_of
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.authz import Policy, Request, replay, validate_policy
from agentsuite_identity.domain.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_identity.repositories.authz import Row, touch
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.http.etag import Precondition

FIELDS = (
    "name",
    "description",
    "effect",
    "actions",
    "resource_type",
    "resources",
    "condition",
    "priority",
    "enabled",
)
DEFAULTS: dict[str, Any] = {
    "description": "",
    "resource_type": "*",
    "resources": [],
    "condition": {},
    "priority": 0,
    "enabled": True,
}


@dataclass(frozen=True)
class NewPolicy:
    fields: dict[str, Any]


@dataclass(frozen=True)
class ChangePolicy:
    policy_id: UUID
    changes: dict[str, Any]
    precondition: Precondition


@dataclass(frozen=True)
class DeletePolicy:
    policy_id: UUID


@dataclass(frozen=True)
class DryRun:
    """A proposed change (`op` create, update or delete) to replay decisions against."""

    op: str
    policy_id: UUID | None
    policy: dict[str, Any] | None
    last: int


def policy_view(row: Row) -> dict[str, Any]:
    return {
        "policy_id": row["policy_id"],
        **{k: row[k] for k in FIELDS},
        "actions": list(row["actions"]),
        "resources": list(row["resources"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


def _checked(policy_id: str, values: dict[str, Any]) -> Policy:
    """The domain policy of `values`, validated (422 naming the field)."""
    missing = [k for k in ("name", "effect", "actions") if values.get(k) is None]
    if missing:
        raise Invalid("invalid", "required", field=missing[0])
    policy = Policy(
        policy_id=policy_id,
        name=values["name"],
        effect=values["effect"],
        actions=tuple(values["actions"]),
        resource_type=values["resource_type"],
        resources=tuple(values["resources"]),
        condition=values["condition"],
        priority=int(values["priority"]),
        enabled=bool(values["enabled"]),
    )
    validate_policy(policy, values["description"])
    return policy


def new_values(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields[k] if fields.get(k) is not None else DEFAULTS.get(k) for k in FIELDS}


def merged_values(current: Row, changes: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics (shared by the save and the dry-run, so both mean the same)."""
    values = {k: current[k] for k in FIELDS}
    values["actions"], values["resources"] = list(values["actions"]), list(values["resources"])
    values.update({k: v for k, v in changes.items() if k in FIELDS and v is not None})
    return values


def _event_fields(policy_id: UUID, values: dict[str, Any]) -> dict[str, Any]:
    return {"policy_id": policy_id, **values}


async def create_policy(cmd: NewPolicy, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    values = new_values(cmd.fields)
    policy_id = uuid7()
    _checked(str(policy_id), values)
    if await uow.policies.name_taken(values["name"]):
        raise Conflict("conflict", f"a policy named {values['name']!r} exists", field="name")
    await uow.policies.add({"policy_id": policy_id, "tenant_id": uow.tenant_id, **values})
    uow.emit(PolicyCreated(**_event_fields(policy_id, values)))
    await touch(uow.policies)
    row = await uow.policies.get(policy_id)
    assert row is not None
    return policy_view(row)


async def _existing(uow: IdentityUow, policy_id: UUID) -> Row:
    row = await uow.policies.get(policy_id)
    if row is None:
        raise NotFound("not_found", f"policy {policy_id} not found")
    return row


async def update_policy(cmd: ChangePolicy, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    policy_id, precondition = cmd.policy_id, cmd.precondition
    current = await _existing(uow, policy_id)
    precondition.check(current["version"])
    values = merged_values(current, cmd.changes)
    _checked(str(policy_id), values)
    if values["name"] != current["name"] and await uow.policies.name_taken(
        values["name"], policy_id
    ):
        raise Conflict("conflict", f"a policy named {values['name']!r} exists", field="name")
    row = await uow.policies.update(policy_id, current["version"], values)
    if row is None:
        precondition.check(None)
        raise Conflict("conflict", "the policy changed meanwhile")
    uow.emit(PolicyUpdated(**_event_fields(policy_id, values)))
    await touch(uow.policies)
    return policy_view(row)


async def delete_policy(cmd: DeletePolicy, uow: IdentityUow, deps: Deps) -> None:
    current = await _existing(uow, cmd.policy_id)
    await uow.policies.delete(cmd.policy_id)
    uow.emit(PolicyDeleted(policy_id=cmd.policy_id, name=current["name"]))
    await touch(uow.policies)


async def dry_run(cmd: DryRun, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    """Replay the newest `last` recorded decisions against the policies as they are and as
    they would be after the change; nothing is written."""
    op, policy_id, policy, last = cmd.op, cmd.policy_id, cmd.policy, cmd.last
    before = await deps.access.snapshot(uow)
    if before is None:
        raise Forbidden("inactive", "the tenant is not active")
    current = list(before.policy_list)
    if op == "create":
        values = new_values(policy or {})
        proposed = [*current, _checked("proposed", values)]
    else:
        if policy_id is None:
            raise Invalid("invalid", f"{op} needs policy_id", field="policy_id")
        row = await _existing(uow, policy_id)
        others = [p for p in current if p.policy_id != str(policy_id)]
        if op == "delete":
            proposed = others
        else:
            changed = _checked(str(policy_id), merged_values(row, policy or {}))
            proposed = [*others, changed]
    after = before.with_policies(proposed)
    rows = await uow.decisions.recent(last)
    requests = [(str(r["decision_id"]), Request.from_json(r["request"])) for r in rows]
    replayed, flips = replay(requests, before, after, datetime.now(UTC))
    return {
        "replayed": replayed,
        "flipped": len(flips),
        "flips": [
            {
                "decision_id": f.decision_id,
                "request": dict(rows_by_id[f.decision_id]),
                "before": {"allowed": f.before.allowed, "reason": f.before.reason},
                "after": {"allowed": f.after.allowed, "reason": f.after.reason},
                "why": f.after.explanation,
            }
            for rows_by_id in [{str(r["decision_id"]): r["request"] for r in rows}]
            for f in flips
        ],
    }


__all__ = ["create_policy", "delete_policy", "dry_run", "policy_of", "update_policy"]
