"""A refused command (`RunError`) as problem+json, and the error responses routes document."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from agentsuite_execution.domain.errors import RunError
from agentsuite_kit.http.problems import MEDIA_TYPE, ProblemError, field_problem, problem_response

STATUS = {
    "not_found": 404,
    "conflict": 409,
    "precondition": 412,
    "forbidden": 403,
    "invalid": 422,
    "plan_not_runnable": 422,
    # a run under another (a subplan's) past the nesting or tree bound
    "subplan_depth_exceeded": 422,
    "subplan_runs_exceeded": 422,
}


def problem_of(exc: RunError) -> ProblemError:
    """The problem of `exc`: its status, `code`, and a 422 names its field as request
    validation does (`errors[].loc`)."""
    status = STATUS.get(exc.code, 422 if exc.field is not None else 409)
    return field_problem(status, exc.message, code=exc.code, field=exc.field)


async def on_run_error(request: Request, exc: Exception) -> Response:
    """The app's handler of a `RunError` no route turned into a problem itself."""
    assert isinstance(exc, RunError)
    problem = problem_of(exc)
    return problem_response(problem.problem, problem.headers)


def errors(*described: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route: each status with what it means there, as problem+json."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": text, "content": {MEDIA_TYPE: {"schema": ref}}}
        for status, text in described
    }


NOT_FOUND = (404, "No such execution in the caller's tenant.")
INVALID = (422, "A parameter or field is invalid; `errors` names it.")
BAD_CURSOR = (400, "A cursor this service did not issue.")
TOO_LARGE = (413, "The body is over the size limit.")

LIST = errors(BAD_CURSOR, INVALID)
READ = errors(NOT_FOUND, INVALID)
PAGE = errors(BAD_CURSOR, NOT_FOUND, INVALID)
COMMAND = errors(
    (400, "A malformed If-Match."),
    NOT_FOUND,
    (409, "The execution's status does not allow this (`code`: conflict)."),
    (412, "If-Match names another version of the execution."),
    TOO_LARGE,
    INVALID,
)
