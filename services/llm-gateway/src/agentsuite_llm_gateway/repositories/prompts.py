"""Prompt templates, versions, labels and label moves; usage per version (owner: prompts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.http.numbers import ascii_int
from agentsuite_kit.http.pagination import CursorValue
from agentsuite_llm_gateway.repositories.tables import (
    USAGE_SUMS,
    prompt_label_moves,
    prompt_labels,
    prompt_versions,
    prompts,
    usage_daily,
)

Row = RowMapping

_PROMPT_COLS = (
    prompts.c.prompt_id,
    prompts.c.name,
    prompts.c.description,
    prompts.c.latest_version,
    prompts.c.created_at,
    prompts.c.updated_at,
)
_VERSION_COLS = (
    prompt_versions.c.prompt_id,
    prompt_versions.c.version,
    prompt_versions.c.messages,
    prompt_versions.c.variables,
    prompt_versions.c.model,
    prompt_versions.c.params,
    prompt_versions.c.note,
    prompt_versions.c.created_by,
    prompt_versions.c.created_at,
)
_MOVE_COLS = (
    prompt_label_moves.c.move_id,
    prompt_label_moves.c.label,
    prompt_label_moves.c.from_version,
    prompt_label_moves.c.to_version,
    prompt_label_moves.c.moved_by,
    prompt_label_moves.c.created_at,
)


_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


def _clamp(value: int, bound: int) -> int:
    return max(-bound, min(value, bound))


class Prompts(Repository):
    # --- prompts ----------------------------------------------------------------------------

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert a prompt; False when its name is taken (a concurrent create of the same
        name waits for the other to commit, then gets False too)."""
        made = await self.session.scalar(
            pg_insert(prompts)
            .values(values)
            .on_conflict_do_nothing(constraint="uq_prompts_tenant_name")
            .returning(prompts.c.prompt_id)
        )
        return made is not None

    async def get(self, name: str, *, lock: bool = False) -> Row | None:
        """The prompt named `name`; `lock` holds its row, which serialises every change to
        its versions and labels."""
        query = select(*_PROMPT_COLS).where(prompts.c.name == name)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Row]:
        query = select(*_PROMPT_COLS).order_by(prompts.c.name).limit(limit + 1)
        # cursors are unsigned, so their values are checked like any other input
        if after and isinstance(after[0], str) and "\x00" not in after[0]:
            query = query.where(prompts.c.name > after[0])
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def bump(self, prompt_id: UUID, version: int) -> None:
        await self.session.execute(
            update(prompts)
            .where(prompts.c.prompt_id == prompt_id)
            .values(latest_version=version, updated_at=func.now())
        )

    async def remove(self, prompt_id: UUID) -> bool:
        """Delete a prompt with its versions, labels and moves (the foreign keys cascade)."""
        done = await self.session.execute(
            delete(prompts).where(prompts.c.prompt_id == prompt_id).returning(prompts.c.prompt_id)
        )
        return done.first() is not None

    # --- versions ---------------------------------------------------------------------------

    async def add_version(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(prompt_versions).values(values))

    async def version(self, prompt_id: UUID, version: int) -> Row | None:
        row = (
            await self.session.execute(
                select(*_VERSION_COLS).where(
                    prompt_versions.c.prompt_id == prompt_id, prompt_versions.c.version == version
                )
            )
        ).first()
        return None if row is None else row._mapping

    async def versions(
        self, prompt_id: UUID, after: Sequence[CursorValue] | None, limit: int
    ) -> list[Row]:
        """Newest first."""
        query = (
            select(*_VERSION_COLS)
            .where(prompt_versions.c.prompt_id == prompt_id)
            .order_by(prompt_versions.c.version.desc())
            .limit(limit + 1)
        )
        if after and isinstance(after[0], int):
            query = query.where(prompt_versions.c.version < _clamp(after[0], _INT32))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    # --- labels -----------------------------------------------------------------------------

    async def resolve(self, name: str, label: str | None) -> tuple[UUID, int, int | None] | None:
        """(prompt id, latest version, the version `label` points to or None); None when no
        prompt has that name."""
        query = select(prompts.c.prompt_id, prompts.c.latest_version)
        if label is None:
            row = (await self.session.execute(query.where(prompts.c.name == name))).first()
            return None if row is None else (row[0], row[1], None)
        joined = query.add_columns(prompt_labels.c.version).select_from(
            prompts.outerjoin(
                prompt_labels,
                and_(
                    prompt_labels.c.prompt_id == prompts.c.prompt_id,
                    prompt_labels.c.label == label,
                ),
            )
        )
        row = (await self.session.execute(joined.where(prompts.c.name == name))).first()
        return None if row is None else (row[0], row[1], row[2])

    async def labels(self, prompt_ids: Sequence[UUID]) -> dict[UUID, dict[str, int]]:
        """Every label of these prompts: prompt id -> {label: version}."""
        if not prompt_ids:
            return {}
        rows = await self.session.execute(
            select(prompt_labels.c.prompt_id, prompt_labels.c.label, prompt_labels.c.version)
            .where(prompt_labels.c.prompt_id.in_(list(prompt_ids)))
            .order_by(prompt_labels.c.label)
        )
        found: dict[UUID, dict[str, int]] = {}
        for prompt_id, label, version in rows.all():
            found.setdefault(prompt_id, {})[label] = version
        return found

    async def label(self, prompt_id: UUID, label: str) -> int | None:
        found: int | None = await self.session.scalar(
            select(prompt_labels.c.version).where(
                prompt_labels.c.prompt_id == prompt_id, prompt_labels.c.label == label
            )
        )
        return found

    async def point(
        self, tenant_id: UUID, prompt_id: UUID, label: str, version: int, by: UUID | None
    ) -> None:
        """Point `label` at `version` (creating it); the caller holds the prompt's lock."""
        stmt = pg_insert(prompt_labels).values(
            prompt_id=prompt_id, label=label, tenant_id=tenant_id, version=version, moved_by=by
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[prompt_labels.c.prompt_id, prompt_labels.c.label],
                set_={"version": version, "moved_by": by, "updated_at": func.now()},
            )
        )

    async def unpoint(self, prompt_id: UUID, label: str) -> int | None:
        """Delete `label`; the version it pointed to, or None if there was no such label."""
        done = await self.session.execute(
            delete(prompt_labels)
            .where(prompt_labels.c.prompt_id == prompt_id, prompt_labels.c.label == label)
            .returning(prompt_labels.c.version)
        )
        row = done.first()
        return None if row is None else int(row[0])

    async def add_move(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(prompt_label_moves).values(values))

    async def moves(
        self, prompt_id: UUID, label: str, after: Sequence[CursorValue] | None, limit: int
    ) -> list[Row]:
        """A label's moves, newest first."""
        query = (
            select(*_MOVE_COLS)
            .where(prompt_label_moves.c.prompt_id == prompt_id, prompt_label_moves.c.label == label)
            .order_by(prompt_label_moves.c.move_id.desc())
            .limit(limit + 1)
        )
        if after and isinstance(after[0], int):
            query = query.where(prompt_label_moves.c.move_id < _clamp(after[0], _INT64))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    # --- usage ------------------------------------------------------------------------------

    async def usage(
        self, prompt_id: UUID, since: datetime | None = None, until: datetime | None = None
    ) -> dict[int, dict[str, int]]:
        """Totals per version from the daily rollup (whose `prompt` is "<id>:<version>"):
        version -> requests, errors, tokens, cost, latency sum."""
        u = usage_daily.c
        version = func.split_part(u.prompt, ":", 2)
        query = (
            select(
                version,
                func.sum(u.requests).filter(u.status != "ok"),
                *(func.sum(u[name]) for name in USAGE_SUMS),
            )
            .where(u.prompt.like(f"{prompt_id}:%"))
            .group_by(version)
        )
        if since is not None:
            query = query.where(u.day >= since)
        if until is not None:
            query = query.where(u.day < until)
        names = ("errors", *USAGE_SUMS)
        totals: dict[int, dict[str, int]] = {}
        for row in (await self.session.execute(query)).all():
            number = ascii_int(str(row[0]))
            if number is None:
                continue  # a malformed rollup key ("²" too) is not any version's usage
            totals[number] = {n: int(v or 0) for n, v in zip(names, row[1:], strict=True)}
        return totals
