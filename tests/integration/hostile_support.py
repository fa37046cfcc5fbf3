"""Text PostgreSQL cannot hold, sent to every route of a service that takes a JSON body.

Each body is made from the route's OpenAPI request schema: its required members filled
(and its optional strings too), every string holding the hostile text, so the text reaches
as deep into the service as a well-formed request would; then once more with the text in a
key; then with a member nested 300 deep and one of a literal that overflows a double
(`1e999`: infinity without the text "Infinity"), which pydantic cannot serialize and jsonb
cannot hold. Every answer must be a 4xx naming where the text was (the kit's 422 `field`, or the
OpenAI routes' `error.param`), never a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI

NUL, LONE = "a\u0000b", "\ud800"
BODY_METHODS = ("POST", "PUT", "PATCH")


def body_operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, JSON request schema) of every operation taking a JSON body."""
    spec = app.openapi()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            if method.upper() in BODY_METHODS and schema is not None:
                found.append((method.upper(), path, _resolve(spec, schema)))
    return found


def _resolve(spec: Mapping[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def instance(spec: Mapping[str, Any], schema: Any, text: str, depth: int = 0) -> Any:  # noqa: C901  one branch per JSON Schema keyword the hostile-input generator understands
    """A value of `schema` with `text` in every string it can hold."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 6:
        return text
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if _resolve(spec, o).get("type") != "null"]
        if options:
            return instance(spec, options[0], text, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        return str(uuid4()) if schema.get("format") == "uuid" else text
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [instance(spec, schema.get("items", {}), text, depth + 1)]
    properties = schema.get("properties") or {}
    if properties:
        return {
            name: instance(spec, sub, text, depth + 1)
            for name, sub in properties.items()
            if name in schema.get("required", ()) or _holds_text(spec, sub)
        }
    return {"note": text}


def _holds_text(spec: Mapping[str, Any], schema: Any) -> bool:
    """Whether an optional member can hold a string (itself, or in an object's values)."""
    schema = _resolve(spec, schema)
    options = [_resolve(spec, o) for o in schema.get("anyOf", schema.get("oneOf", [schema]))]
    kinds: set[str] = set()
    for option in options:
        kind = option.get("type")
        kinds |= set(kind) if isinstance(kind, list) else {kind}
    return bool(kinds & {"string", "object"})


def url(path: str, ids: Mapping[str, str]) -> str:
    """`path` with each `{param}` filled from `ids` (real objects, so a request gets as far
    as it can), else with a fresh UUID."""
    while "{" in path:
        head, _, rest = path.partition("{")
        name, _, tail = rest.partition("}")
        path = head + ids.get(name.split(":")[0], str(uuid4())) + tail
    return path


def named(reply: httpx.Response) -> str | None:
    """Where the refusal says the text was: the kit's `field`, or OpenAI's `error.param`."""
    body = reply.json()
    error = body.get("error")
    if isinstance(error, dict) and error.get("param"):
        return str(error["param"])
    field = body.get("field")
    return str(field) if field else None


async def sweep(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    ids: Mapping[str, str] | None = None,
) -> list[str]:
    """What went wrong on any body route, one line each (empty: all refused, by name)."""
    spec = app.openapi()
    wrong: list[str] = []
    for method, path, schema in body_operations(app):
        for text in (NUL, LONE):
            made = instance(spec, schema, text)
            bodies = [made, {**made, text: 1} if isinstance(made, dict) else {text: 1}]
            for body in bodies:
                reply = await client.request(
                    method,
                    url(path, ids or {}),
                    content=json.dumps(body),
                    headers={**headers, "content-type": "application/json"},
                )
                what = f"{method} {path} {text!r}: {reply.status_code} {reply.text[:160]}"
                if not 400 <= reply.status_code < 500:
                    wrong.append(what)
                elif not named(reply):
                    wrong.append(f"{what} (names no field)")
        made = instance(spec, schema, "plain")
        for literal in ("[" * 300 + "]" * 300, "1e999"):
            # raw JSON text: json.dumps writes neither a literal past a double nor fast depth
            base = made if isinstance(made, dict) else {}
            raw = json.dumps({**base, "hostile": "HOLE"}).replace('"HOLE"', literal)
            reply = await client.request(
                method,
                url(path, ids or {}),
                content=raw,
                headers={**headers, "content-type": "application/json"},
            )
            what = f"{method} {path} {literal[:8]!r}: {reply.status_code} {reply.text[:160]}"
            if not 400 <= reply.status_code < 500:
                wrong.append(what)
            elif not (named(reply) or "").startswith("hostile"):
                wrong.append(f"{what} (does not name hostile)")
    return wrong


async def oversize(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    limit: int,
    ids: Mapping[str, str] | None = None,
) -> list[str]:
    """Every body route that does not refuse a body of `limit` + 1 bytes with a 413, one
    line each (empty: all refused before the body was parsed)."""
    wrong: list[str] = []
    body = json.dumps({"hostile": "a" * limit})
    for method, path, _schema in body_operations(app):
        reply = await client.request(
            method,
            url(path, ids or {}),
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
        if reply.status_code != 413:
            wrong.append(f"{method} {path}: {reply.status_code} {reply.text[:160]}")
    return wrong
