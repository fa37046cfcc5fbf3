"""Prompt commands: create, append a version, move or delete a label, delete a prompt.

Every change to one prompt first locks its row, so version numbers are gapless and a
label's recorded move always names the version it really moved from. No contract event
exists for prompts: nothing outside the gateway reacts to them, so none is emitted.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.http.etag import Precondition
from agentsuite_llm_gateway.domain import prompts as domain
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.repositories.prompts import Row
from agentsuite_llm_gateway.uow import GatewayUow


def not_found(name: str) -> GatewayError:
    return GatewayError(Code.PROMPT_NOT_FOUND, f"prompt {name!r} not found", param="name")


async def existing(uow: GatewayUow, name: str, *, lock: bool = False) -> Row:
    row = await uow.prompts.get(name, lock=lock)
    if row is None:
        raise not_found(name)
    return row


def _version_values(
    messages: Any, variables: Any, model: str | None, params: Any, note: str
) -> dict[str, Any]:
    """A version's checked content: the schema derived when none is given."""
    checked = domain.check_messages(messages)
    names = domain.holes(checked)
    schema = (
        domain.derive_schema(names) if variables is None else domain.check_schema(variables, names)
    )
    return {
        "messages": checked,
        "variables": schema,
        "model": model,
        "params": domain.check_params({} if params is None else params),
        "note": note,
    }


def _labels(labels: list[str] | None) -> list[str]:
    checked = [domain.check_label(label, f"labels[{i}]") for i, label in enumerate(labels or [])]
    return list(dict.fromkeys(checked))


async def _move(
    uow: GatewayUow, prompt_id: UUID, label: str, version: int, by: UUID | None
) -> int | None:
    """Point `label` at `version` and record the move; the version it left (None: new)."""
    assert uow.tenant_id is not None
    before = await uow.prompts.label(prompt_id, label)
    await uow.prompts.point(uow.tenant_id, prompt_id, label, version, by)
    if before != version:
        await uow.prompts.add_move(
            {
                "prompt_id": prompt_id,
                "tenant_id": uow.tenant_id,
                "label": label,
                "from_version": before,
                "to_version": version,
                "moved_by": by,
            }
        )
    return before


async def create_prompt(
    uow: GatewayUow,
    *,
    name: str,
    description: str,
    messages: Any,
    variables: Any,
    model: str | None,
    params: Any,
    note: str,
    labels: list[str] | None,
    by: UUID | None,
) -> UUID:
    """A new prompt with its version 1 (and `labels` on it). Does not commit."""
    assert uow.tenant_id is not None
    domain.check_name(name)
    content = _version_values(messages, variables, model, params, note)
    wanted = _labels(labels)
    prompt_id = uuid7()
    made = await uow.prompts.add(
        {
            "prompt_id": prompt_id,
            "tenant_id": uow.tenant_id,
            "name": name,
            "description": description,
            "latest_version": 1,
        }
    )
    if not made:
        raise GatewayError(Code.CONFLICT, f"a prompt named {name!r} exists", param="name")
    await uow.prompts.add_version(
        {"prompt_id": prompt_id, "version": 1, "tenant_id": uow.tenant_id, "created_by": by}
        | content
    )
    for label in wanted:
        await _move(uow, prompt_id, label, 1, by)
    return prompt_id


async def add_version(
    uow: GatewayUow,
    name: str,
    precondition: Precondition,
    *,
    messages: Any,
    variables: Any,
    model: str | None,
    params: Any,
    note: str,
    labels: list[str] | None,
    by: UUID | None,
) -> tuple[UUID, int]:
    """Append the next version (immutable from now on); If-Match, when sent, must name the
    latest version, so two editors cannot both branch from the same one unknowingly."""
    assert uow.tenant_id is not None
    content = _version_values(messages, variables, model, params, note)
    wanted = _labels(labels)
    prompt = await existing(uow, name, lock=True)
    precondition.check(prompt["latest_version"])
    prompt_id, version = prompt["prompt_id"], prompt["latest_version"] + 1
    await uow.prompts.add_version(
        {"prompt_id": prompt_id, "version": version, "tenant_id": uow.tenant_id, "created_by": by}
        | content
    )
    await uow.prompts.bump(prompt_id, version)
    for label in wanted:
        await _move(uow, prompt_id, label, version, by)
    return prompt_id, version


async def move_label(
    uow: GatewayUow, name: str, label: str, version: int, by: UUID | None
) -> tuple[UUID, int | None]:
    """Point `label` at `version` (create, promote or roll back); (prompt id, old version)."""
    domain.check_label(label)
    prompt = await existing(uow, name, lock=True)
    if not 1 <= version <= prompt["latest_version"]:
        raise GatewayError(
            Code.INVALID_REQUEST,
            f"version: prompt {name!r} has no version {version}"
            f" (latest is {prompt['latest_version']})",
            param="version",
        )
    before = await _move(uow, prompt["prompt_id"], label, version, by)
    return prompt["prompt_id"], before


async def delete_label(uow: GatewayUow, name: str, label: str) -> None:
    prompt = await existing(uow, name, lock=True)
    if await uow.prompts.unpoint(prompt["prompt_id"], label) is None:
        raise GatewayError(Code.NOT_FOUND, f"prompt {name!r} has no label {label!r}", param="label")


async def delete_prompt(uow: GatewayUow, name: str) -> None:
    prompt = await existing(uow, name, lock=True)
    await uow.prompts.remove(prompt["prompt_id"])


def version_view(name: str, row: Row, labels: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_id": row["prompt_id"],
        "name": name,
        "version": row["version"],
        "messages": row["messages"],
        "variables": row["variables"],
        "model": row["model"],
        "params": row["params"],
        "note": row["note"],
        "labels": sorted(k for k, v in labels.items() if v == row["version"]),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
    }


def prompt_view(row: Row, labels: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_id": row["prompt_id"],
        "name": row["name"],
        "description": row["description"],
        "latest_version": row["latest_version"],
        "labels": {**labels, domain.LATEST: row["latest_version"]},
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def usage_view(latest: int, totals: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    """One entry per version, newest first, zeros where nothing was used."""
    empty = {
        "requests": 0,
        "errors": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "cost_micros": 0,
        "latency_ms_sum": 0,
    }
    out = []
    for version in range(latest, 0, -1):
        t = totals.get(version, empty)
        out.append(
            {
                "version": version,
                **{k: t[k] for k in empty if k != "latency_ms_sum"},
                "avg_latency_ms": (t["latency_ms_sum"] // t["requests"]) if t["requests"] else None,
            }
        )
    return out
