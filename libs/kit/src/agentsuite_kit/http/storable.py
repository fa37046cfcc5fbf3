"""Refuse, at the edge, request text PostgreSQL cannot hold (`agentsuite_kit.storable`):
one app-wide dependency instead of a check per route or per body model.

What it reads: the path and query parameters, the header values, and the JSON body of a
route that declares one (FastAPI has read and cached it by then; a route that reads its
body itself, such as a size-limited stream, checks it where it parses it). It runs before
the route's own dependencies, authentication included: such bytes are refused whoever
sends them, and the refusal tells nothing about the caller's rights or the data.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, model_validator

from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.storable import Unstorable, text_flaw, unstorable, unstorable_json

CODE = "invalid_text"


def refusal(where: str, found: Unstorable) -> ProblemError:
    """The 422 of a flaw found in `where` (body, query, path, header), shaped like request
    validation's: `errors[].loc` names it; `field` is its JSON path (`inputs.x`)."""
    loc: list[str | int] = [where, *_segments(found.path)]
    return ProblemError(
        422,
        f"{found.path or where}: {found.reason}; it cannot be stored.",
        code=CODE,
        field=found.path or where,
        errors=[{"loc": loc, "msg": found.reason, "type": "value_error"}],
    )


def _segments(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for part in path.split(".") if path else []:
        name, _, rest = part.partition("[")
        if name:
            parts.append(name)
        for index in filter(None, rest.replace("]", "").split("[")):
            parts.append(int(index) if index.isdigit() else index)
    return parts


def _first(where: str, pairs: Any) -> ProblemError | None:
    """The first flawed parameter name or value of `pairs` as its refusal, or None."""
    for name, value in pairs:
        reason = text_flaw(name)
        if reason is not None:
            return refusal(where, Unstorable("", f"a parameter name {reason}"))
        reason = text_flaw(value) if isinstance(value, str) else None
        if reason is not None:
            return refusal(where, Unstorable(name, reason))
    return None


def header_refusal(raw: list[tuple[bytes, bytes]]) -> ProblemError | None:
    """A header value with NUL (headers arrive as bytes: no surrogates), or None."""
    for name, value in raw:
        if b"\x00" in value:
            header = name.decode("latin-1")
            return refusal("header", Unstorable(header, "contains NUL (U+0000)"))
    return None


async def refuse_unstorable(request: Request) -> None:
    """The dependency `create_app` installs on every route."""
    problem = (
        _first("path", request.path_params.items())
        or _first("query", request.query_params.multi_items())
        or header_refusal(request.headers.raw)
    )
    if problem is not None:
        raise problem
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and route.body_field is not None:
        found = unstorable_json(await request.body())
        if found is not None:
            raise refusal("body", found)


class StrictBody(BaseModel):
    """A request body model: unknown fields refused, every string storable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # the app's edge refuses such text first; this keeps a body built elsewhere honest
        found = unstorable(data)
        if found is not None:
            raise ValueError(f"body.{found.path}: {found.reason}" if found.path else found.reason)
        return data
