"""The error responses routes document (a refused command, a `RunError`, is the kit's
domain error: the app answers it as problem+json)."""

from __future__ import annotations

from typing import Any

from agentsuite_kit.http.problems import MEDIA_TYPE


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
