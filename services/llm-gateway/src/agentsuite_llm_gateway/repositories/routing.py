"""SQL of aliases, system rules and preferences (owner: routing admin).

`all()` on each returns domain objects for the catalogue loader; the other methods serve
the admin API and return rows. Rows carry the tenant from the unit of work, and RLS keeps
every statement inside that tenant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, cast, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_llm_gateway.domain.catalog import (
    Alias,
    Preference,
    Rule,
    RuleEffect,
    SubjectKind,
    Target,
)
from agentsuite_llm_gateway.repositories.tables import aliases, preferences, rules

Row = RowMapping

_ALIAS_COLS = (
    aliases.c.alias_id,
    aliases.c.name,
    aliases.c.targets,
    aliases.c.description,
    aliases.c.version,
    aliases.c.created_at,
    aliases.c.updated_at,
)
_RULE_COLS = (
    rules.c.rule_id,
    rules.c.effect,
    rules.c.model,
    rules.c.subject_kind,
    rules.c.subject_id,
    rules.c.reason,
    rules.c.created_at,
)
_PREFERENCE_COLS = (
    preferences.c.preference_id,
    preferences.c.subject_kind,
    preferences.c.subject_id,
    preferences.c.default_model,
    preferences.c.version,
    preferences.c.updated_at,
)


def alias_of(row: Row) -> Alias:
    targets = tuple(Target(str(t["model"]), int(t.get("weight", 1))) for t in row["targets"])
    return Alias(row["name"], targets)


def rule_of(row: Row) -> Rule:
    return Rule(
        rule_id=row["rule_id"],
        effect=RuleEffect(row["effect"]),
        model=row["model"],
        subject_kind=SubjectKind(row["subject_kind"]),
        subject_id=row["subject_id"],
    )


def preference_of(row: Row) -> Preference:
    return Preference(SubjectKind(row["subject_kind"]), row["subject_id"], row["default_model"])


class Aliases(Repository):
    async def all(self) -> list[Alias]:
        query = select(*_ALIAS_COLS).order_by(aliases.c.name)
        return [alias_of(r._mapping) for r in (await self.session.execute(query)).all()]

    async def get(self, name: str) -> Row | None:
        query = select(*_ALIAS_COLS).where(aliases.c.name == name)
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def add(self, values: dict[str, Any]) -> Row | None:
        """Insert the alias; None when the name is taken (nothing written)."""
        query = (
            pg_insert(aliases)
            .values(tenant_id=self.session.info["tenant"], **values)
            .on_conflict_do_nothing(constraint="uq_aliases_tenant_name")
            .returning(*_ALIAS_COLS)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def page(self, after: str | None, limit: int) -> list[Row]:
        query = select(*_ALIAS_COLS).order_by(aliases.c.name).limit(limit + 1)
        if after is not None:
            query = query.where(aliases.c.name > after)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def update(self, name: str, version: int | None, values: dict[str, Any]) -> Row | None:
        """Apply `values` when the alias is still at `version` (any, when None)."""
        query = update(aliases).where(aliases.c.name == name)
        if version is not None:
            query = query.where(aliases.c.version == version)
        query = query.values(**values, version=aliases.c.version + 1, updated_at=text("now()"))
        row = (await self.session.execute(query.returning(*_ALIAS_COLS))).first()
        return None if row is None else row._mapping

    async def remove(self, name: str) -> bool:
        query = delete(aliases).where(aliases.c.name == name).returning(aliases.c.alias_id)
        return (await self.session.scalar(query)) is not None

    async def targeting(self, model: str) -> list[str]:
        """The aliases listing `model` among their targets."""
        query = select(aliases.c.name).where(
            aliases.c.targets.contains(cast([{"model": model}], JSONB))
        )
        return list(await self.session.scalars(query))


class Rules(Repository):
    async def all(self) -> list[Rule]:
        query = select(*_RULE_COLS).order_by(rules.c.created_at, rules.c.rule_id)
        return [rule_of(r._mapping) for r in (await self.session.execute(query)).all()]

    async def get(self, rule_id: UUID) -> Row | None:
        row = (
            await self.session.execute(select(*_RULE_COLS).where(rules.c.rule_id == rule_id))
        ).first()
        return None if row is None else row._mapping

    async def add(self, values: dict[str, Any]) -> Row:
        query = (
            insert(rules)
            .values(tenant_id=self.session.info["tenant"], **values)
            .returning(*_RULE_COLS)
        )
        return (await self.session.execute(query)).one()._mapping

    async def page(self, after: tuple[Any, ...] | None, limit: int) -> list[Row]:
        query = keyset(select(*_RULE_COLS), (rules.c.created_at, rules.c.rule_id), after, limit)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def remove(self, rule_id: UUID) -> bool:
        query = delete(rules).where(rules.c.rule_id == rule_id).returning(rules.c.rule_id)
        return (await self.session.scalar(query)) is not None


class Preferences(Repository):
    async def all(self) -> list[Preference]:
        query = select(*_PREFERENCE_COLS).order_by(
            preferences.c.subject_kind, preferences.c.subject_id
        )
        return [preference_of(r._mapping) for r in (await self.session.execute(query)).all()]

    async def get(self, kind: str, subject_id: str, *, lock: bool = False) -> Row | None:
        query = select(*_PREFERENCE_COLS).where(
            preferences.c.subject_kind == kind, preferences.c.subject_id == subject_id
        )
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def put(self, preference_id: UUID, kind: str, subject_id: str, model: str) -> Row:
        """Set the subject's default model (insert, or bump the version of the row)."""
        stmt = pg_insert(preferences).values(
            preference_id=preference_id,
            tenant_id=self.session.info["tenant"],
            subject_kind=kind,
            subject_id=subject_id,
            default_model=model,
        )
        upsert = stmt.on_conflict_do_update(
            constraint="uq_preferences_subject",
            set_={
                "default_model": stmt.excluded.default_model,
                "version": preferences.c.version + 1,
                "updated_at": text("now()"),
            },
        ).returning(*_PREFERENCE_COLS)
        return (await self.session.execute(upsert)).one()._mapping

    async def page(self, after: tuple[Any, ...] | None, limit: int) -> list[Row]:
        order = (preferences.c.subject_kind, preferences.c.subject_id)
        query = keyset(select(*_PREFERENCE_COLS), order, after, limit)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def remove(self, kind: str, subject_id: str) -> bool:
        query = (
            delete(preferences)
            .where(preferences.c.subject_kind == kind, preferences.c.subject_id == subject_id)
            .returning(preferences.c.preference_id)
        )
        return (await self.session.scalar(query)) is not None
