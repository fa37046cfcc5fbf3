"""Repositories: the only place SQL lives. Each one wraps the unit of work's session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, tuple_

from agentsuite_kit.db.scoped import ScopedConnection

S = TypeVar("S", bound=Select[Any])


def keyset(
    query: S,
    key: Sequence[ColumnElement[Any]],
    after: Sequence[Any] | None,
    limit: int,
    *,
    descending: bool = False,
) -> S:
    """`query`'s page in `key` order (ascending unless `descending`) from just past the
    cursor's values `after`: `limit + 1` rows at most, the extra one only proving a next
    page (`agentsuite_kit.http.pagination.paginate`)."""
    order = [c.desc() for c in key] if descending else list(key)
    query = query.order_by(*order).limit(limit + 1)
    if after is not None:
        row, cursor = tuple_(*key), tuple_(*after)
        query = query.where(row < cursor if descending else row > cursor)
    return query


class Repository:
    """Base of every repository; subclasses add the queries of one aggregate.

    `session` is the unit of work's tenant-scoped connection (`execute`, `scalar`,
    `scalars`); a repository never commits.
    """

    def __init__(self, session: ScopedConnection) -> None:
        self.session = session


def tenant_of(repo: Repository, given: UUID | None = None) -> UUID:
    """The tenant a projection's read or write is for: `given`, else the unit of work's.
    An all-tenants unit of work without `given` raises: its reads would match every
    tenant's rows, and a write would be no tenant's."""
    tenant: UUID | None = given or repo.session.info["tenant"]
    if tenant is None:
        raise ValueError(
            "projections are per tenant: use a tenant's unit of work or pass tenant_id"
        )
    return tenant
