"""Aliases, system rules and preferences: one function `(command, uow, deps)` per command.

Every write announces the tenant's catalogue change in its own transaction
(`GatewayUow.catalog_changed`); the route commits (with the Idempotency-Key's response,
for a create). No events: `contracts` has none for routing configuration.

Aliases do not nest: a target naming an alias, or an alias named after another alias's
target, is refused. Targets naming no model yet are accepted (the built-in `local` models
and models added later count), and `plan` skips a target whose model is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.http.etag import Precondition
from agentsuite_llm_gateway.catalogs import BUILTIN_ALIASES
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.handlers.inputs import invalid, json_refusal
from agentsuite_llm_gateway.uow import GatewayUow

# aliases are addressed in paths: no `/`; no `*`, which rules read as a prefix
AliasName = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
]
ModelName = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
]
# a model name, or a prefix of one ending in `*` (forbid rules)
ModelPattern = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*\*?$")
]
Text = Annotated[str, Field(max_length=1000)]
MAX_TARGETS = 32


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_strings(cls, data: Any) -> Any:
        refusal = json_refusal(data)
        if refusal is not None:
            raise ValueError(refusal)
        return data


class TargetIn(Command):
    model: ModelName
    # 0: a fallback only, never drawn first (see domain/routing.py)
    weight: int = Field(default=1, ge=0, le=1_000_000)


class AliasBody(Command):
    targets: list[TargetIn] = Field(min_length=1, max_length=MAX_TARGETS)
    description: Text = ""


class CreateAlias(AliasBody):
    name: AliasName


class CreateRule(Command):
    effect: Literal["pin", "forbid"]
    model: ModelPattern
    subject_kind: Literal["tenant", "org", "user", "api_key"]
    subject_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason: Text = ""


class SetPreference(Command):
    default_model: ModelName


class TargetView(BaseModel):
    model: str
    weight: int


class AliasView(BaseModel):
    alias_id: UUID
    name: str
    targets: list[TargetView]
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> AliasView:
        return cls(**dict(row))


class RuleView(BaseModel):
    rule_id: UUID
    effect: str
    model: str
    subject_kind: str
    subject_id: str | None
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> RuleView:
        return cls(**dict(row))


class PreferenceView(BaseModel):
    subject_kind: str
    subject_id: str
    default_model: str
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> PreferenceView:
        return cls(**{k: row[k] for k in cls.model_fields})


def _tenant(uow: GatewayUow) -> UUID:
    assert uow.tenant_id is not None, "routing commands run in a tenant's unit of work"
    return uow.tenant_id


# --- aliases --------------------------------------------------------------------------------


async def _check_targets(uow: GatewayUow, name: str, targets: list[TargetIn]) -> None:
    seen: set[str] = set()
    for i, target in enumerate(targets):
        field = f"targets[{i}].model"
        if target.model in seen:
            raise invalid(field, f"`{target.model}` is listed twice")
        seen.add(target.model)
        if target.model == name:
            raise invalid(field, "an alias cannot name itself")
        if await uow.aliases.get(target.model) is not None or (
            # the catalogue supplies these aliases unless a model takes the name
            target.model in BUILTIN_ALIASES and not await uow.models.name_taken(target.model)
        ):
            raise invalid(field, f"`{target.model}` is an alias; aliases do not nest")


def _targets(targets: list[TargetIn]) -> list[dict[str, Any]]:
    return [{"model": t.model, "weight": t.weight} for t in targets]


@dataclass(frozen=True, slots=True)
class GetAlias:
    name: str


@dataclass(frozen=True, slots=True)
class ReplaceAlias:
    name: str
    body: AliasBody
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class DeleteAlias:
    name: str


async def create_alias(cmd: CreateAlias, uow: GatewayUow, deps: Deps) -> AliasView:
    """No commit: the route stores the Idempotency-Key's response in the same transaction."""
    tenant = _tenant(uow)
    await _check_targets(uow, cmd.name, cmd.targets)
    if await uow.aliases.targeting(cmd.name):
        raise invalid("name", f"alias `{cmd.name}` is a target of another alias")
    row = await uow.aliases.add(
        {
            "alias_id": uuid7(),
            "name": cmd.name,
            "targets": _targets(cmd.targets),
            "description": cmd.description,
        }
    )
    if row is None:
        raise GatewayError(Code.CONFLICT, f"an alias named `{cmd.name}` exists", param="name")
    uow.catalog_changed(tenant)
    return AliasView.of(row)


async def get_alias(query: GetAlias, uow: GatewayUow, deps: Deps) -> AliasView:
    row = await uow.aliases.get(query.name)
    if row is None:
        raise GatewayError(Code.NOT_FOUND, f"alias `{query.name}` not found", param="name")
    return AliasView.of(row)


async def replace_alias(cmd: ReplaceAlias, uow: GatewayUow, deps: Deps) -> AliasView:
    """Replace the targets and description of an alias at the version If-Match names."""
    tenant = _tenant(uow)
    name, body, precondition = cmd.name, cmd.body, cmd.precondition
    current = await get_alias(GetAlias(name), uow, deps)
    precondition.check(current.version)
    await _check_targets(uow, name, body.targets)
    values = {"targets": _targets(body.targets), "description": body.description}
    row = await uow.aliases.update(name, current.version, values)
    if row is None:  # changed between the read and the write: the If-Match no longer holds
        precondition.check(None)
        raise AssertionError("unreachable")  # check(None) always raises
    uow.catalog_changed(tenant)
    return AliasView.of(row)


async def delete_alias(cmd: DeleteAlias, uow: GatewayUow, deps: Deps) -> None:
    if not await uow.aliases.remove(cmd.name):
        raise GatewayError(Code.NOT_FOUND, f"alias `{cmd.name}` not found", param="name")
    uow.catalog_changed(_tenant(uow))


# --- rules ----------------------------------------------------------------------------------


def _subject_id(cmd: CreateRule, tenant: UUID) -> str | None:
    """The id as `Caller.subjects()` spells it (a canonical UUID), so rules match."""
    if cmd.subject_id is None:
        return None
    try:
        ident = UUID(cmd.subject_id)
    except ValueError:
        raise invalid("subject_id", f"not a UUID: {cmd.subject_id!r}") from None
    if cmd.subject_kind == "tenant" and ident != tenant:
        raise invalid("subject_id", "a tenant rule names this tenant, or none")
    return str(ident)


@dataclass(frozen=True, slots=True)
class GetRule:
    rule_id: UUID


@dataclass(frozen=True, slots=True)
class DeleteRule:
    rule_id: UUID


async def create_rule(cmd: CreateRule, uow: GatewayUow, deps: Deps) -> RuleView:
    tenant = _tenant(uow)
    if cmd.effect == "pin" and cmd.model.endswith("*"):
        raise invalid("model", "a pin names one model or alias, not a prefix")
    row = await uow.rules.add(
        {
            "rule_id": uuid7(),
            "effect": cmd.effect,
            "model": cmd.model,
            "subject_kind": cmd.subject_kind,
            "subject_id": _subject_id(cmd, tenant),
            "reason": cmd.reason,
        }
    )
    uow.catalog_changed(tenant)
    return RuleView.of(row)


async def get_rule(query: GetRule, uow: GatewayUow, deps: Deps) -> RuleView:
    row = await uow.rules.get(query.rule_id)
    if row is None:
        raise GatewayError(Code.NOT_FOUND, f"rule {query.rule_id} not found", param="rule_id")
    return RuleView.of(row)


async def delete_rule(cmd: DeleteRule, uow: GatewayUow, deps: Deps) -> None:
    if not await uow.rules.remove(cmd.rule_id):
        raise GatewayError(Code.NOT_FOUND, f"rule {cmd.rule_id} not found", param="rule_id")
    uow.catalog_changed(_tenant(uow))


# --- preferences ----------------------------------------------------------------------------

Subject = tuple[Literal["tenant", "user"], str]


def tenant_subject(tenant: UUID) -> Subject:
    return ("tenant", str(tenant))


def user_subject(user_id: UUID) -> Subject:
    return ("user", str(user_id))


@dataclass(frozen=True, slots=True)
class PutPreference:
    subject: Subject
    body: SetPreference
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class DeletePreference:
    subject: Subject


async def set_preference(cmd: PutPreference, uow: GatewayUow, deps: Deps) -> PreferenceView:
    """Set a subject's default model; an If-Match, when sent, must name the current version
    (`*`: it must exist)."""
    tenant = _tenant(uow)
    subject = cmd.subject
    if cmd.precondition.header is not None:
        current = await uow.preferences.get(*subject, lock=True)
        cmd.precondition.check(None if current is None else current["version"])
    row = await uow.preferences.put(uuid7(), subject[0], subject[1], cmd.body.default_model)
    uow.catalog_changed(tenant)
    return PreferenceView.of(row)


async def delete_preference(cmd: DeletePreference, uow: GatewayUow, deps: Deps) -> None:
    if not await uow.preferences.remove(*cmd.subject):
        raise GatewayError(Code.NOT_FOUND, f"no {cmd.subject[0]} preference is set")
    uow.catalog_changed(_tenant(uow))
