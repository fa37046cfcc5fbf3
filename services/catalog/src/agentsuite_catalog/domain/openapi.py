"""An OpenAPI 3.0/3.1 document as tool drafts: one per operation.

The document is checked with `openapi-spec-validator`, after the checks that keep that
library from hanging or fetching: a bounded number of operations, local `$ref`s only (the
import fetches nothing), and no `$ref` that leads back to itself without a schema in
between (the validator recurses on those until Python's stack runs out). Each operation's
schemas are then inlined, `$ref` by `$ref`, under a node budget and refusing a `$ref`
cycle (a recursive schema): a JSON Schema with no reference left, which is what tools
carry (both in `openapi_refs`). One operation's fault fails that operation only, named in
the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import DuplicateOperationIDError

from agentsuite_catalog.domain.bindings import HttpSpec, sendable_header
from agentsuite_catalog.domain.openapi_refs import check_refs, inline, walk
from agentsuite_catalog.domain.openapi_security import auth_of
from agentsuite_catalog.domain.tools import MAX_DESCRIPTION, MAX_TAGS, TOOL_NAME, Draft
from agentsuite_contracts.catalog import SideEffect
from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import MAX_NODES

MAX_OPERATIONS = 1_000
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CALLABLE = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})  # what an http binding sends
SIDE_EFFECTS = {
    "GET": SideEffect.READ_ONLY,
    "PUT": SideEffect.IDEMPOTENT,
    "DELETE": SideEffect.IDEMPOTENT,
}
SERVER_VARIABLE = re.compile(r"\{([^{}]+)\}")
# header parameters OpenAPI says to ignore (the media types and the credential are
# described elsewhere in the document)
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})


@dataclass(frozen=True, slots=True)
class Options:
    version: str = "1.0.0"
    prefix: str = ""  # put before every tool name, e.g. `petstore.`
    base_url: str | None = None  # instead of servers[0]
    category: str | None = None
    # a tenant secret's name: presented as the operation's security requirement asks
    credential: str | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """One operation: a draft to create, or why not (`skipped` or a failure)."""

    operation: str  # e.g. `GET /pets/{petId}`
    name: str | None
    draft: Draft | None = None
    skipped: str | None = None
    failure: Invalid | None = None


def operation_count(document: dict[str, Any]) -> int:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return 0
    return sum(
        1
        for item in paths.values()
        if isinstance(item, dict)
        for method in HTTP_METHODS
        if method in item
    )


def check_document(document: Any) -> str:
    """The document's OpenAPI version (`3.0` or `3.1`); Invalid naming the place where it
    is over a bound, refers outside itself, loops on `$ref`s, or breaks the spec."""
    if not isinstance(document, dict):
        raise Invalid("document_invalid", "an OpenAPI document is an object", field="document")
    declared = document.get("openapi")
    line = declared[:3] if isinstance(declared, str) else None
    if line not in ("3.0", "3.1"):
        raise Invalid("openapi_version", "only OpenAPI 3.0 and 3.1 are imported", field="openapi")
    count = operation_count(document)
    if count > MAX_OPERATIONS:
        raise Invalid(
            "too_many_operations",
            f"the document has {count} operations; an import takes at most {MAX_OPERATIONS}",
            field="paths",
        )
    check_refs(document)
    validator = OpenAPIV30SpecValidator if line == "3.0" else OpenAPIV31SpecValidator
    try:
        for error in validator(document).iter_errors():
            if isinstance(error, DuplicateOperationIDError):
                continue  # reported on each operation instead
            where = getattr(error, "json_path", None) or "$"
            raise Invalid("openapi_invalid", str(error.message).split("\n", 1)[0], field=where)
    except RecursionError:
        raise Invalid("openapi_too_deep", "the document nests too deeply", field="$") from None
    return line


def _from_30(schema: Any) -> Any:
    """A 3.0 Schema Object in Draft 2020-12 terms: `nullable` and the boolean exclusive
    bounds are 3.0's own."""
    for _, node in walk(schema):
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            flag = node.get(bound)
            if isinstance(flag, bool):
                del node[bound]
                if flag and limit in node:
                    node[bound] = node.pop(limit)
    return schema


def tool_name(operation_id: str, prefix: str) -> str:
    """`listPets` -> `list_pets`: a tool name is lowercase."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", operation_id).lower()
    return prefix + re.sub(r"[^a-z0-9_.-]", "_", snake)


def _media_schema(content: Any) -> Any:
    if not isinstance(content, dict) or not content:
        return None
    for media, entry in content.items():
        if "json" in media and isinstance(entry, dict):
            return entry.get("schema", {})
    first = next(iter(content.values()))
    return first.get("schema", {}) if isinstance(first, dict) else None


def base_url(document: dict[str, Any], options: Options) -> str:
    if options.base_url is not None:
        return options.base_url.rstrip("/")
    servers = document.get("servers") or [{"url": "/"}]
    server = servers[0]
    url: str = server.get("url", "/")
    variables = server.get("variables") or {}
    url = SERVER_VARIABLE.sub(lambda m: str(variables.get(m[1], {}).get("default", m[0])), url)
    if not url.startswith(("http://", "https://")):
        raise Invalid(
            "server_relative",
            f"servers[0] is {url!r}, not an absolute http(s) URL: pass base_url",
            field="servers[0].url",
        )
    return url.rstrip("/")


def _sendable(name: str, located: str, param: dict[str, Any], where: str) -> bool:
    """Whether execution can send the parameter; a required one it cannot send fails the
    operation, an optional one is left out of the tool's input."""
    if located == "header" and name.lower() in IGNORED_HEADERS:
        return False
    if located in ("path", "query") or (located == "header" and sendable_header(name)):
        return True
    if param.get("required"):
        raise Invalid(
            "parameter_unsendable",
            f"required {located} parameter {name[:100]!r} cannot be sent by an http binding",
            field=where,
        )
    return False


def _properties(
    params: dict[tuple[str, str], tuple[str, Any]],
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    places: dict[str, str] = {}
    for (name, located), (where, param) in params.items():
        if not _sendable(name, located, param, where):
            continue
        if name in properties:
            raise Invalid(
                "parameter_clash",
                f"parameter {name!r} appears in more than one place ({located} too)",
                field=where,
            )
        schema = param.get("schema")
        if schema is None:
            schema = _media_schema(param.get("content"))
        schema = dict(schema) if isinstance(schema, dict) else {}
        if "description" in param and "description" not in schema:
            schema["description"] = param["description"]
        properties[name] = schema
        places[name] = located
        if param.get("required") or located == "path":
            required.append(name)
    return properties, required, places


def _input_schema(
    document: dict[str, Any], item: dict[str, Any], op: dict[str, Any], place: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parameters by name, the request body as `body`: an object schema; and where each
    parameter goes (path, query or header)."""
    budget = [MAX_NODES]
    params: dict[tuple[str, str], tuple[str, Any]] = {}
    for where, listed in (
        (f"{place.rsplit('.', 1)[0]}.parameters", item.get("parameters")),
        (f"{place}.parameters", op.get("parameters")),
    ):
        for i, raw in enumerate(listed or []):
            found = inline(raw, document, (), budget, f"{where}[{i}]")
            params[(found["name"], found["in"])] = (f"{where}[{i}]", found)
    properties, required, places = _properties(params)
    body = op.get("requestBody")
    if body is not None:
        where = f"{place}.requestBody"
        resolved = inline(body, document, (), budget, where)
        if "body" in properties:
            raise Invalid("parameter_clash", "a parameter is named `body`", field=where)
        schema = _media_schema(resolved.get("content"))
        properties["body"] = schema if isinstance(schema, dict) else {}
        if resolved.get("required"):
            required.append("body")
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        shape["required"] = required
    return shape, places


def _output_schema(document: dict[str, Any], op: dict[str, Any], place: str) -> Any:
    responses = op.get("responses") or {}
    for code in ("200", "201", "202", "2XX", "default"):
        if code in responses:
            where = f"{place}.responses.{code}"
            response = inline(responses[code], document, (), [MAX_NODES], where)
            return _media_schema(response.get("content") if isinstance(response, dict) else None)
    return None


def _tags(tags: Any) -> tuple[str, ...]:
    found = [re.sub(r"[\s,]+", "-", t.strip())[:64] for t in tags or [] if isinstance(t, str)]
    return tuple(t for t in found if t)[:MAX_TAGS]


def _plan_one(
    document: dict[str, Any],
    line: str,
    base: str,
    path: str,
    method: str,
    options: Options,
    names: dict[str, int],
) -> Planned:
    item = document["paths"][path]
    op = item[method]
    verb = method.upper()
    label = f"{verb} {path}"
    place = f"$.paths['{path}'].{method}"
    operation_id = op.get("operationId")
    if not isinstance(operation_id, str) or not operation_id:
        failure = Invalid(
            "operation_id_missing",
            "the operation has no operationId: it names the tool",
            field=f"{place}.operationId",
        )
        return Planned(label, None, failure=failure)
    name = tool_name(operation_id, options.prefix)
    if names[name] > 1:
        failure = Invalid(
            "operation_id_duplicate",
            f"operationId {operation_id!r} names {names[name]} operations (as tool {name!r})",
            field=f"{place}.operationId",
        )
        return Planned(label, name, failure=failure)
    if verb not in CALLABLE:
        return Planned(label, name, skipped=f"method {verb} is not callable by an http binding")
    if not TOOL_NAME.match(name):
        failure = Invalid(
            "name_invalid",
            f"operationId {operation_id!r} gives tool name {name!r}, which is not 1-128 "
            "lowercase letters, digits, _ . - starting with a letter",
            field=f"{place}.operationId",
        )
        return Planned(label, name, failure=failure)
    try:
        input_schema, places = _input_schema(document, item, op, place)
        output_schema = _output_schema(document, op, place)
        auth = auth_of(document, op, options.credential, place)
    except Invalid as exc:
        return Planned(label, name, failure=exc)
    if line == "3.0":
        input_schema, output_schema = _from_30(input_schema), _from_30(output_schema)
    text = op.get("summary") or op.get("description") or label
    draft = Draft(
        version=options.version,
        description=str(text).strip()[:MAX_DESCRIPTION] or label,
        binding=HttpSpec(base + path, verb, {}, auth, places),
        input_schema=input_schema,
        output_schema=output_schema,
        display_name=operation_id[:200],
        category=options.category,
        tags=_tags(op.get("tags")),
        side_effect=SIDE_EFFECTS.get(verb, SideEffect.NON_IDEMPOTENT),
    )
    return Planned(label, name, draft=draft)


def plan(document: dict[str, Any], options: Options) -> list[Planned]:
    """Every operation of a checked document (`check_document`), in document order."""
    line = check_document(document)
    base = base_url(document, options)
    found: list[tuple[str, str]] = [
        (path, method)
        for path, item in (document.get("paths") or {}).items()
        if isinstance(item, dict)
        for method in HTTP_METHODS
        if method in item
    ]
    names: dict[str, int] = {}
    for path, method in found:
        given = document["paths"][path][method].get("operationId")
        if isinstance(given, str) and given:
            key = tool_name(given, options.prefix)
            names[key] = names.get(key, 0) + 1
    return [_plan_one(document, line, base, path, method, options, names) for path, method in found]
