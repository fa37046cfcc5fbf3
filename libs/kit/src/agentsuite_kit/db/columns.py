"""The column shapes every service's tables repeat, written once: ids, the owning tenant,
timestamps, the optimistic-lock version, JSON documents and counters. A fresh `Column` per
call (a column belongs to one table)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID


def uuid_column(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, PgUUID(as_uuid=True), nullable=nullable)


def tenant_column(nullable: bool = False) -> Column[object]:
    return Column("tenant_id", PgUUID(as_uuid=True), nullable=nullable)


def at_column(name: str, nullable: bool = True) -> Column[object]:
    """A moment; one that must be there defaults to the transaction's `now()`."""
    if nullable:
        return Column(name, DateTime(timezone=True), nullable=True)
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


def created_column() -> Column[object]:
    return at_column("created_at", nullable=False)


def updated_column() -> Column[object]:
    return at_column("updated_at", nullable=False)


def version_column() -> Column[object]:
    """The row's version, the ETag's number: 1 when made, one more at each change."""
    return Column("version", Integer, nullable=False, server_default=text("1"))


def json_column(name: str, nullable: bool = True, default: str | None = None) -> Column[object]:
    """A JSONB document; with `default` (JSON text such as `{}`) never null."""
    if default is not None:
        return Column(name, JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))
    return Column(name, JSONB, nullable=nullable)


def count_column(name: str) -> Column[object]:
    return Column(name, BigInteger, nullable=False, server_default="0")
