"""execution's schema metadata (every table registers here) and the column shapes its
tables share."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID

metadata = MetaData()


def uuid_column(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, PgUUID(as_uuid=True), nullable=nullable)


def tenant_column() -> Column[object]:
    return Column("tenant_id", PgUUID(as_uuid=True), nullable=False)


def at_column(name: str, nullable: bool = True) -> Column[object]:
    if nullable:
        return Column(name, DateTime(timezone=True), nullable=True)
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


def json_column(name: str, nullable: bool = True, default: str | None = None) -> Column[object]:
    if default is not None:
        return Column(name, JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))
    return Column(name, JSONB, nullable=nullable)


def count_column(name: str) -> Column[object]:
    return Column(name, BigInteger, nullable=False, server_default="0")
