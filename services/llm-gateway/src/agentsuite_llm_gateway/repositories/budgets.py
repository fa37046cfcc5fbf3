"""SQL of budgets and their reservations (owner: budgets).

`reserve` is one statement: it locks the budgets in id order (so concurrent reservations
over overlapping budgets queue instead of deadlocking), rolls ended windows forward, and
adds to `reserved` on every budget or on none. A waiting reservation re-reads the row the
one before it committed (READ COMMITTED re-checks a locked row), so 50 concurrent calls
see each other's holds and never pass a limit together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_llm_gateway.domain import budgets as rules
from agentsuite_llm_gateway.domain.budgets import Counters, Crossing, Limits, Period, window
from agentsuite_llm_gateway.domain.catalog import BudgetRule, Exhaust, SubjectKind
from agentsuite_llm_gateway.repositories.tables import budgets, reservations

Row = RowMapping


_RESERVE = text(
    """
    WITH locked AS (
      SELECT b.budget_id, b.limit_tokens, b.limit_micros, b.reserved_tokens, b.reserved_micros,
        (b.period = 'day' AND b.window_start < :day)
          OR (b.period = 'month' AND b.window_start < :month) AS stale,
        b.period, b.spent_tokens, b.spent_micros
      FROM budgets b WHERE b.budget_id = ANY(CAST(:ids AS uuid[]))
      ORDER BY b.budget_id FOR UPDATE
    ), checked AS (
      SELECT l.*,
        (l.limit_tokens IS NULL OR (CASE WHEN l.stale THEN 0 ELSE l.spent_tokens END)
            + l.reserved_tokens + :tokens <= l.limit_tokens)
        AND (l.limit_micros IS NULL OR (CASE WHEN l.stale THEN 0 ELSE l.spent_micros END)
            + l.reserved_micros + :micros <= l.limit_micros) AS fits
      FROM locked l
    ), held AS (
      UPDATE budgets b SET
        reserved_tokens = c.reserved_tokens + :tokens,
        reserved_micros = c.reserved_micros + :micros,
        window_start = CASE WHEN NOT c.stale THEN b.window_start
          WHEN c.period = 'day' THEN :day ELSE :month END,
        spent_tokens = CASE WHEN c.stale THEN 0 ELSE c.spent_tokens END,
        spent_micros = CASE WHEN c.stale THEN 0 ELSE c.spent_micros END,
        warned = b.warned AND NOT c.stale,
        exceeded = b.exceeded AND NOT c.stale
      FROM checked c
      WHERE b.budget_id = c.budget_id AND NOT EXISTS (SELECT 1 FROM checked WHERE NOT fits)
      RETURNING b.budget_id, b.tenant_id
    ), made AS (
      INSERT INTO reservations (reservation_id, budget_id, tenant_id, tokens, micros, expires_at)
      SELECT :rid, h.budget_id, h.tenant_id, :tokens, :micros, :expires FROM held h
    )
    SELECT budget_id FROM checked WHERE NOT fits ORDER BY budget_id
    """
)

# the reservations' rows go, and every budget they held is locked, in id order: a batch
# (the recorder's flush, the expiry job) takes its locks as one reservation does, so it
# cannot deadlock with the reservations running meanwhile
_RELEASE = text(
    """
    WITH gone AS (
      DELETE FROM reservations WHERE reservation_id = ANY(CAST(:rids AS uuid[]))
      RETURNING reservation_id, budget_id, tokens, micros
    )
    SELECT b.*, g.reservation_id, g.tokens AS held_tokens, g.micros AS held_micros
    FROM budgets b JOIN gone g ON g.budget_id = b.budget_id
    ORDER BY b.budget_id FOR UPDATE OF b
    """
)

# a settlement lost with the database's last WAL flush leaves its reservation to the expiry
# job, which spends the whole estimate: too much, never too little, and no fsync per call
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")

_EXPIRED = text(
    """
    SELECT reservation_id, tenant_id, max(tokens) AS tokens, max(micros) AS micros
    FROM reservations WHERE expires_at <= :now
    GROUP BY reservation_id, tenant_id ORDER BY min(expires_at) LIMIT :limit
    """
)


def rule_of(row: Row) -> BudgetRule:
    return BudgetRule(
        budget_id=row["budget_id"],
        scope=SubjectKind(row["scope"]),
        scope_id=row["scope_id"],
        on_exhaust=Exhaust(row["on_exhaust"]),
        downgrade_to=row["downgrade_to"],
    )


def limits_of(row: Mapping[Any, Any]) -> Limits:
    return Limits(row["limit_tokens"], row["limit_micros"], row["warn_percent"])


def counters_of(row: Mapping[Any, Any]) -> Counters:
    return Counters(
        window_start=row["window_start"],
        spent_tokens=row["spent_tokens"],
        spent_micros=row["spent_micros"],
        reserved_tokens=row["reserved_tokens"],
        reserved_micros=row["reserved_micros"],
        warned=row["warned"],
        exceeded=row["exceeded"],
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """One budget a settlement touched: its row before, its counters after, and the
    thresholds this settlement crossed."""

    budget: Row
    counters: Counters
    crossings: list[Crossing]
    reservation_id: UUID


class Budgets(Repository):
    # --- the catalogue and the hot path ------------------------------------------------
    async def rules(self) -> list[BudgetRule]:
        """Every budget of the tenant, as the catalogue carries them."""
        query = select(
            budgets.c.budget_id,
            budgets.c.scope,
            budgets.c.scope_id,
            budgets.c.on_exhaust,
            budgets.c.downgrade_to,
        ).order_by(budgets.c.created_at, budgets.c.budget_id)
        return [rule_of(r._mapping) for r in (await self.session.execute(query)).all()]

    async def reserve(
        self,
        reservation_id: UUID,
        budget_ids: Sequence[UUID],
        tokens: int,
        micros: int,
        expires_at: datetime,
        *,
        now: datetime | None = None,
    ) -> list[UUID]:
        """Hold `tokens`/`micros` on every budget, or on none: the ids that refused (empty:
        held, one `reservations` row per budget). Budgets deleted meanwhile are skipped."""
        at = now or datetime.now(UTC)
        params = {
            "rid": reservation_id,
            "ids": sorted(set(budget_ids)),
            "tokens": tokens,
            "micros": micros,
            "expires": expires_at,
            "day": window(Period.DAY, at).start,
            "month": window(Period.MONTH, at).start,
        }
        return list((await self.session.execute(_RESERVE, params)).scalars().all())

    async def settle(
        self, items: Sequence[tuple[UUID, int, int]], *, now: datetime | None = None
    ) -> list[Settled]:
        """For each (reservation_id, tokens, micros): move what the reservation held to
        spent at the real amounts (never more than was held), in the given order. A
        reservation already gone (settled, expired, its budget deleted) is skipped, so
        settling twice is harmless."""
        if not items:
            return []
        at = now or datetime.now(UTC)
        order = {rid: i for i, (rid, _, _) in enumerate(items)}
        real = {rid: (tokens, micros) for rid, tokens, micros in items}
        result = await self.session.execute(_RELEASE, {"rids": list(order)})
        by_budget: dict[UUID, list[Row]] = {}
        for row in result.mappings().all():
            by_budget.setdefault(row["budget_id"], []).append(row)
        done: list[Settled] = []
        for budget_id, rows in by_budget.items():
            c = counters_of(rows[0])
            for row in sorted(rows, key=lambda r: order[r["reservation_id"]]):
                tokens, micros = real[row["reservation_id"]]
                # the gateway sent the reserved output as max_tokens: a provider that reports
                # more broke that bound, and the budget is charged at most what it reserved
                # (the trace keeps what the provider reported)
                tokens = min(tokens, row["held_tokens"])
                micros = min(micros, row["held_micros"])
                c, crossings = rules.settle(
                    row["period"],
                    limits_of(row),
                    c,
                    held_tokens=row["held_tokens"],
                    held_micros=row["held_micros"],
                    tokens=tokens,
                    micros=micros,
                    now=at,
                )
                done.append(Settled(row, c, crossings, row["reservation_id"]))
            await self.put_counters(budget_id, c)
        done.sort(key=lambda s: order[s.reservation_id])
        return done

    async def commit_lazily(self) -> None:
        """This transaction's commit returns before its WAL is on disk (see _ASYNC_COMMIT)."""
        await self.session.execute(_ASYNC_COMMIT)

    async def release(self, reservation_id: UUID) -> None:
        """Give the reservation back unspent (the call never went out)."""
        await self.settle([(reservation_id, 0, 0)])

    async def put_counters(self, budget_id: UUID, c: Counters) -> None:
        await self.session.execute(
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(
                window_start=c.window_start,
                spent_tokens=c.spent_tokens,
                spent_micros=c.spent_micros,
                reserved_tokens=c.reserved_tokens,
                reserved_micros=c.reserved_micros,
                warned=c.warned,
                exceeded=c.exceeded,
            )
        )

    async def expired(self, now: datetime, limit: int = 500) -> list[Row]:
        """Reservations past `expires_at` (any tenant under an all-tenants unit of work):
        reservation_id, tenant_id and what each of its budgets holds."""
        result = await self.session.execute(_EXPIRED, {"now": now, "limit": limit})
        return list(result.mappings().all())

    async def holding(self, budget_id: UUID) -> int:
        """Live reservations on one budget."""
        query = select(func.count()).where(reservations.c.budget_id == budget_id)
        return int(await self.session.scalar(query) or 0)

    # --- admin -------------------------------------------------------------------------
    async def add(self, values: dict[str, Any]) -> Row | None:
        """None when the tenant has a budget for this (scope, scope_id, period)."""
        query = (
            pg_insert(budgets)
            .values(**values, tenant_id=self.session.info["tenant"])
            .on_conflict_do_nothing()
            .returning(budgets)
        )
        return (await self.session.execute(query)).mappings().first()

    async def get(self, budget_id: UUID, *, lock: bool = False) -> Row | None:
        query = select(budgets).where(budgets.c.budget_id == budget_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def page(
        self, after: Sequence[Any] | None, limit: int, scope: str | None = None
    ) -> list[Row]:
        """Up to `limit + 1` budgets in (created_at, id) order after the cursor's pair."""
        query = select(budgets)
        if scope is not None:
            query = query.where(budgets.c.scope == scope)
        query = keyset(query, (budgets.c.created_at, budgets.c.budget_id), after, limit)
        return list((await self.session.execute(query)).mappings().all())

    async def change(self, budget_id: UUID, values: dict[str, Any]) -> Row:
        query = (
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(**values, version=budgets.c.version + 1, updated_at=func.now())
            .returning(budgets)
        )
        return (await self.session.execute(query)).mappings().one()

    async def remove(self, budget_id: UUID) -> bool:
        """Its reservations go with it (FK cascade)."""
        query = delete(budgets).where(budgets.c.budget_id == budget_id)
        return (await self.session.scalar(query.returning(budgets.c.budget_id))) is not None
