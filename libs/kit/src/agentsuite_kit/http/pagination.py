"""Keyset pagination behind an opaque cursor: (sort key values..., id) as JSON, base64url, HMAC'd.

No `from __future__ import annotations` here: FastAPI must read the Query bounds that
`cursor_params` closes over, and string annotations would hide them.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from agentsuite_kit.http.problems import ProblemError

T = TypeVar("T")

CursorValue = str | int | float | bool | None | datetime | UUID

_SIG_BYTES = 16


class CursorError(ValueError):
    """A cursor that this service did not issue, or that was altered."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()[:_SIG_BYTES])


def _tag(value: CursorValue) -> Any:
    # datetimes and UUIDs are tagged so they decode back to the same type, not to str.
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    return value


def _untag(value: Any) -> CursorValue:
    if isinstance(value, dict):
        if value.keys() == {"dt"} and isinstance(value["dt"], str):
            return datetime.fromisoformat(value["dt"])
        if value.keys() == {"uuid"} and isinstance(value["uuid"], str):
            return UUID(value["uuid"])
        raise CursorError("unknown cursor value")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise CursorError("unknown cursor value")


def encode_cursor(values: Sequence[CursorValue], secret: bytes | None = None) -> str:
    """Encode the sort key of the last row served; sign it when a `secret` is given."""
    raw = json.dumps([_tag(v) for v in values], separators=(",", ":"), allow_nan=False)
    payload = _b64(raw.encode("utf-8"))
    return payload if secret is None else f"{payload}.{_sign(secret, payload)}"


def decode_cursor(cursor: str, secret: bytes | None = None) -> tuple[CursorValue, ...]:
    """Inverse of `encode_cursor`; raises `CursorError` for anything it did not produce."""
    if len(cursor) > 4096:
        raise CursorError("cursor is too long")
    payload, dot, sig = cursor.partition(".")
    if secret is not None:
        if not dot or not hmac.compare_digest(sig, _sign(secret, payload)):
            raise CursorError("cursor signature does not match")
    elif dot:
        raise CursorError("cursor is not well formed")
    try:
        values = json.loads(_unb64(payload).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError("cursor is not well formed") from None
    if not isinstance(values, list) or not values:
        raise CursorError("cursor is not well formed")
    try:
        return tuple(_untag(v) for v in values)
    except ValueError:
        raise CursorError("cursor is not well formed") from None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class CursorParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    after: tuple[CursorValue, ...] | None = None
    limit: int


def cursor_params(
    *, secret: bytes | None = None, default_limit: int = 50, max_limit: int = 200
) -> Callable[..., CursorParams]:
    """A dependency reading `?cursor=&limit=`; a bad cursor is a 400 problem, not a 500."""
    if not 1 <= default_limit <= max_limit:
        raise ValueError("default_limit must be between 1 and max_limit")

    def dependency(
        cursor: Annotated[str | None, Query(description="Opaque cursor from next_cursor.")] = None,
        limit: Annotated[int, Query(ge=1, le=max_limit)] = default_limit,
    ) -> CursorParams:
        if cursor is None:
            return CursorParams(limit=limit)
        try:
            after = decode_cursor(cursor, secret)
        except CursorError as exc:
            raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor") from exc
        return CursorParams(after=after, limit=limit)

    return dependency


def paginate(
    rows: Sequence[T],
    limit: int,
    key: Callable[[T], Sequence[CursorValue]],
    secret: bytes | None = None,
) -> Page[T]:
    """Build a page from up to `limit + 1` rows: the extra row only proves a next page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page[T](items=items, next_cursor=encode_cursor(key(items[-1]), secret) if more else None)


class Int32(int):
    """A `shaped` kind: an integer an `Integer` (int4) column holds. Plain `int` is checked
    against bigint's range, and a larger value past an int4 column is a DataError (a 500)."""


def _fits(value: CursorValue, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is Int32:
        return isinstance(value, int) and -(2**31) <= value < 2**31
    if isinstance(value, str):
        # JSON carries NUL and lone surrogates, which PostgreSQL text cannot
        return kind is str and "\x00" not in value and _encodable(value)
    if isinstance(value, int) and kind is int:
        # PostgreSQL's widest integer; a bigger one is a DataError at the driver
        return -(2**63) <= value < 2**63
    if kind is float:
        return isinstance(value, float) or (isinstance(value, int) and _float_sized(value))
    if isinstance(value, datetime):
        return kind is datetime and _in_utc_range(value)
    return isinstance(value, kind)


def _float_sized(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _in_utc_range(value: datetime) -> bool:
    # keys come from timestamptz columns, so ours are aware; the driver converts to UTC,
    # which overflows for an offset at the ends of the datetime range
    if value.tzinfo is None:
        return False
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shaped(pages: CursorParams, *shape: type) -> tuple[CursorValue, ...] | None:
    """The cursor's values when they have this list's shape (`shape`: their types, in
    order); else a 400 `invalid_cursor`. Cursors are readable JSON: one of another list,
    or written by hand, would otherwise reach SQL with the wrong types (a 500)."""
    values = pages.after
    if values is None:
        return None
    if len(values) != len(shape) or not all(map(_fits, values, shape)):
        raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor")
    return values
