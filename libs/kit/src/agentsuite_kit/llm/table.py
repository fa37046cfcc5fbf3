"""The table of a service's LLM calls in flight: the kit's columns, the service's own beside
them, and the Alembic helpers that create it (or bring an older table up to it).

The kit reads and writes only its columns (`request_id`, `tenant_id`, `state`, `request`,
`resends`, `created_at`, `answered_at`); a service adds what it keeps per call (what it
reserved, which step asked) as extra columns of the same row, so one row is both the
transport's pending request and the service's record of the call.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from agentsuite_kit.db.rls import rls_statements

PENDING = "pending"
ANSWERED = "answered"
# no longer waited for: the service gave up on it, or the kit did after its last re-request
ABANDONED = "abandoned"


def call_columns() -> list[Column[Any]]:
    """The kit's columns of a calls table (new objects on each call: a Column belongs to
    one table)."""
    return [
        Column("tenant_id", UUID(as_uuid=True), nullable=False),
        Column("request_id", UUID(as_uuid=True), nullable=False),
        # pending | answered | abandoned
        Column("state", String(16), nullable=False),
        *resend_columns(),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("answered_at", DateTime(timezone=True), nullable=True),
    ]


def resend_columns() -> list[Column[Any]]:
    """What re-requesting a lost answer needs: the request as sent (cleared once the call
    ends: a conversation can be large) and how often it was sent again."""
    return [
        Column("request", JSONB, nullable=True),
        Column("resends", Integer, nullable=False, server_default=text("0")),
    ]


def calls_table(name: str, metadata: MetaData, *extra: Column[Any] | Index) -> Table:
    """The service's calls table for its metadata: the kit's columns plus `extra`."""
    return Table(name, metadata, *call_columns(), *extra, PrimaryKeyConstraint("request_id"))


def create_calls_table(name: str, *extra: Column[Any] | Index) -> None:
    """In a service's Alembic revision: create its calls table, under forced RLS."""
    op.create_table(name, *call_columns(), *extra, sa.PrimaryKeyConstraint("request_id"))
    for statement in rls_statements(name):
        op.execute(statement)


def add_resend_columns(name: str) -> None:
    """In a revision: bring a calls table made before the kit's client up to it."""
    for column in resend_columns():
        op.add_column(name, column)


def drop_resend_columns(name: str) -> None:
    """The downgrade of `add_resend_columns`."""
    for column in reversed(resend_columns()):
        op.drop_column(name, column.name)
