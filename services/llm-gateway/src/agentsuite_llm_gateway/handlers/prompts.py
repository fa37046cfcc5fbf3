"""Prompt commands, one function `(command, uow, deps)` each: create, append a version,
move or delete a label, delete a prompt.

Every change to one prompt first locks its row, so version numbers are gapless and a
label's recorded move always names the version it really moved from. No contract event
exists for prompts: nothing outside the gateway reacts to them, so none is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.http.etag import Precondition
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain import prompts as domain
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.repositories.prompts import Row
from agentsuite_llm_gateway.repositories.tables import USAGE_SUMS
from agentsuite_llm_gateway.uow import GatewayUow


@dataclass(frozen=True, slots=True, kw_only=True)
class Content:
    """A version's content as sent: checked by the command that stores it."""

    messages: Any
    variables: Any = None
    model: str | None = None
    params: Any = None
    note: str = ""
    labels: list[str] = field(default_factory=list)
    by: UUID | None = None  # who made it


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePrompt(Content):
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddVersion(Content):
    name: str
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class MoveLabel:
    name: str
    label: str
    version: int
    by: UUID | None


@dataclass(frozen=True, slots=True)
class DeleteLabel:
    name: str
    label: str


@dataclass(frozen=True, slots=True)
class DeletePrompt:
    name: str


def not_found(name: str) -> GatewayError:
    return GatewayError(Code.PROMPT_NOT_FOUND, f"prompt {name!r} not found", param="name")


async def existing(uow: GatewayUow, name: str, *, lock: bool = False) -> Row:
    row = await uow.prompts.get(name, lock=lock)
    if row is None:
        raise not_found(name)
    return row


def _version_values(content: Content) -> dict[str, Any]:
    """A version's checked content: the schema derived when none is given."""
    checked = domain.check_messages(content.messages)
    names = domain.holes(checked)
    variables = content.variables
    schema = (
        domain.derive_schema(names) if variables is None else domain.check_schema(variables, names)
    )
    params = content.params
    return {
        "messages": checked,
        "variables": schema,
        "model": content.model,
        "params": domain.check_params({} if params is None else params),
        "note": content.note,
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


async def create_prompt(cmd: CreatePrompt, uow: GatewayUow, deps: Deps) -> UUID:
    """A new prompt with its version 1 (and `labels` on it). Does not commit."""
    assert uow.tenant_id is not None
    name, description, by = cmd.name, cmd.description, cmd.by
    domain.check_name(name)
    content = _version_values(cmd)
    wanted = _labels(cmd.labels)
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


async def add_version(cmd: AddVersion, uow: GatewayUow, deps: Deps) -> tuple[UUID, int]:
    """Append the next version (immutable from now on); If-Match, when sent, must name the
    latest version, so two editors cannot both branch from the same one unknowingly."""
    assert uow.tenant_id is not None
    name, by = cmd.name, cmd.by
    content = _version_values(cmd)
    wanted = _labels(cmd.labels)
    prompt = await existing(uow, name, lock=True)
    cmd.precondition.check(prompt["latest_version"])
    prompt_id, version = prompt["prompt_id"], prompt["latest_version"] + 1
    await uow.prompts.add_version(
        {"prompt_id": prompt_id, "version": version, "tenant_id": uow.tenant_id, "created_by": by}
        | content
    )
    await uow.prompts.bump(prompt_id, version)
    for label in wanted:
        await _move(uow, prompt_id, label, version, by)
    return prompt_id, version


async def move_label(cmd: MoveLabel, uow: GatewayUow, deps: Deps) -> tuple[UUID, int | None]:
    """Point `label` at `version` (create, promote or roll back); (prompt id, old version)."""
    name, label, version, by = cmd.name, cmd.label, cmd.version, cmd.by
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


async def delete_label(cmd: DeleteLabel, uow: GatewayUow, deps: Deps) -> None:
    name, label = cmd.name, cmd.label
    prompt = await existing(uow, name, lock=True)
    if await uow.prompts.unpoint(prompt["prompt_id"], label) is None:
        raise GatewayError(Code.NOT_FOUND, f"prompt {name!r} has no label {label!r}", param="label")


async def delete_prompt(cmd: DeletePrompt, uow: GatewayUow, deps: Deps) -> None:
    prompt = await existing(uow, cmd.name, lock=True)
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
    empty = dict.fromkeys(("errors", *USAGE_SUMS), 0)
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
