"""RFC 9457 problem details: every error an Agentsuite API returns has this one shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from agentsuite_kit.errors import DomainError, Kind
from agentsuite_kit.logging import correlation_id

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """Unknown members are kept: RFC 9457 extensions travel as top-level keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type: str = "about:blank",
        instance: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.problem = Problem(
            type=type,
            title=title if title is not None else _phrase(status),
            status=status,
            detail=detail,
            instance=instance,
            **extensions,
        )
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.problem.title}: {detail}")


def body_loc(field: str) -> list[str | int]:
    """A dotted field name as FastAPI's own validation errors name a nested body value:
    "targets[2].model" -> ["body", "targets", 2, "model"]."""
    loc: list[str | int] = ["body"]
    for part in field.split("."):
        name, _, rest = part.partition("[")
        loc.append(name)
        for index in filter(None, rest.replace("]", "").split("[")):
            loc.append(int(index) if index.isascii() and index.isdigit() else index)
    return loc


def field_problem(
    status: int,
    detail: str,
    *,
    code: str,
    field: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemError:
    """A rule's refusal as problem+json: its status, code and `field`; a 422 also carries
    `errors` naming the field the way request validation does."""
    extra: dict[str, Any] = dict(extensions or {})
    if field is not None:
        extra["field"] = field
        if status == 422:
            extra["errors"] = [{"loc": body_loc(field), "msg": detail, "type": "value_error"}]
    return ProblemError(status, detail, code=code, **extra)


# The status each kind of domain refusal answers with; the domain itself never knows it.
STATUS: dict[Kind, int] = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.FORBIDDEN: 403,
    Kind.PRECONDITION: 412,
    Kind.EXHAUSTED: 402,
    Kind.RATE_LIMITED: 429,
    Kind.UNAVAILABLE: 502,
    Kind.TIMED_OUT: 504,
}


def domain_problem(exc: DomainError, *, status: int | None = None) -> ProblemError:
    """A domain refusal as problem+json: the status of its kind (or `status`, for an edge
    that must answer otherwise), its `code`, `field` (a 422 also names it in `errors`) and
    extensions."""
    return field_problem(
        status if status is not None else STATUS[exc.kind],
        exc.message,
        code=exc.code,
        field=exc.field,
        extensions=exc.extensions,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    body = problem.model_dump(mode="json", exclude_none=True)
    cid = correlation_id.get()
    if cid is not None:
        # Lets a caller quote one id that finds every log line of the failed request.
        body.setdefault("correlation_id", cid)
    return JSONResponse(
        body,
        status_code=problem.status or 500,
        headers=dict(headers or {}),
        media_type=MEDIA_TYPE,
    )


def problem(status: int, detail: str | None = None, **extensions: Any) -> Response:
    return problem_response(
        Problem(title=_phrase(status), status=status, detail=detail, **extensions)
    )


def internal_error_response() -> Response:
    return problem(500, "An unexpected error occurred.")


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    # Only loc/msg/type: `input` and `ctx` may echo secrets the client sent.
    return [
        FieldError(
            loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in errors
        if isinstance(e, Mapping)
    ]


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.problem, exc.headers)


async def _on_domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    problem = domain_problem(exc)
    return problem_response(problem.problem, problem.headers)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem(422, "The request is invalid.", errors=field_errors(exc.errors()))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == _phrase(exc.status_code):
        detail = None  # Starlette's default detail just repeats the title
    return problem_response(
        Problem(title=_phrase(exc.status_code), status=exc.status_code, detail=detail),
        exc.headers,
    )


async def _on_unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return internal_error_response()


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unhandled)
