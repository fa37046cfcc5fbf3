"""The OpenAPI document says what the app answers on errors: problem+json (RFC 9457).

FastAPI documents every 422 as its own `HTTPValidationError` in `application/json`, and no
other error at all, while the kit answers every error as `application/problem+json`. This
rewrites the document once, when it is first built: each operation lists the errors it can
give (422 when it takes input, 401/403 when it needs a token, 404 when its path names an
object, 412/428 when it takes `If-Match`, 500 always) with the `Problem` schema. Responses a
route documents itself with other content (an OAuth token endpoint's RFC 6749 errors) stay.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from agentsuite_kit.http.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extension members travel as top-level keys.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable reason."},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Per-field reasons of a 422.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg"],
            },
        },
    },
    "additionalProperties": True,
}

_REF = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _errors(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    codes = {500}
    params = operation.get("parameters", [])
    if operation.get("requestBody") or params or "422" in operation.get("responses", {}):
        codes.add(422)
    if operation.get("security"):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in params):
        codes |= {400, 412, 428}  # 400: a malformed If-Match
    if any(p.get("in") == "query" and p.get("name") == "cursor" for p in params):
        codes.add(400)  # a cursor that does not decode
    if method == "post" and operation.get("requestBody"):
        codes |= {400, 409}  # 400: a malformed Idempotency-Key
    # an error a route documented by hand, without a body: the body it gets is a problem
    codes |= {
        int(code)
        for code, entry in operation.get("responses", {}).items()
        if code.isdigit() and int(code) >= 400 and not entry.get("content")
    }
    return codes


def _replaceable(entry: dict[str, Any]) -> bool:
    content = entry.get("content")
    if not content:
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return len(content) == 1 and schema.get("$ref") == _FASTAPI_422


def problem_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every operation's error responses as problem+json (in place)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for code in sorted(_errors(path, method, operation)):
                entry = responses.setdefault(str(code), {})
                if not _replaceable(entry):
                    continue
                entry.setdefault("description", HTTPStatus(code).phrase)
                entry["content"] = {MEDIA_TYPE: {"schema": _REF}}
    components = schema["components"]["schemas"]
    text = repr(schema["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and f"/{unused}'" not in text:
            del components[unused]
    return schema


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` describe errors as the kit answers them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_responses(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
