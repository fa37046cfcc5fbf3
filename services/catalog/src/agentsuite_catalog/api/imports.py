"""Import tools: `POST /v1/tools/import/openapi` (a document in the body, JSON or YAML, or
uploaded as the `document` field of a form) and `POST /v1/tools/import/mcp`."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

import json
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import yaml
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from agentsuite_catalog.api.edge import AppDeps, Uow, Writer
from agentsuite_catalog.domain import mcp, openapi
from agentsuite_catalog.domain.bindings import MAX_URL
from agentsuite_catalog.domain.semver import MAX_VERSION
from agentsuite_catalog.handlers import imports as handlers
from agentsuite_kit.edge import INVALID, TOO_LARGE, bounded, errors, problems
from agentsuite_kit.errors import Invalid
from agentsuite_kit.http.idempotency import HEADER, Idempotency, idempotency

# a document of a thousand operations with their schemas runs to a few megabytes
MAX_DOCUMENT = 4 * 1024 * 1024
JSON_TYPES = ("application/json", "application/openapi+json")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
FORM = "multipart/form-data"
INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")
KEY_ERRORS = (400, "A malformed Idempotency-Key.")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retry with the same key and request gets the first report.",
    ),
]

router = APIRouter(prefix="/v1", tags=["tools"], route_class=bounded(MAX_DOCUMENT))


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors' aliases: one alias may stand for a tree that expands
    exponentially (the "billion laughs"), which inlining would then walk."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted")
        return super().compose_node(parent, index)


def _scalar(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"a YAML {type(value).__name__} has no JSON form")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse(raw: bytes, media: str) -> Any:
    """The document in `raw`, JSON or YAML; Invalid on `document` otherwise. YAML comes
    back as JSON data: unquoted `200:` keys as strings, dates as ISO text (a spec holding
    a date object could not be stored or published), binaries, sets, NaN and infinities
    refused (Python's parsers take them; JSON has none)."""
    try:
        if media in JSON_TYPES:
            return json.loads(raw, parse_constant=_no_constant)
        loaded = yaml.load(raw, Loader=_NoAliases)  # noqa: S506 - a SafeLoader, aliases refused
        return json.loads(json.dumps(loaded, default=_scalar), parse_constant=_no_constant)
    except (ValueError, TypeError, yaml.YAMLError, RecursionError) as exc:
        reason = str(exc).split("\n", 1)[0][:300]
        message = f"not JSON or YAML: {reason}"
        raise Invalid("document_unparsable", message, field="document") from None


async def _document(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == FORM:
        form = await request.form(max_files=1, max_fields=1)
        upload = form.get("document")
        if upload is None:
            raise Invalid("document_missing", "upload the document as `document`", field="document")
        raw = upload.encode() if isinstance(upload, str) else await upload.read()
        name = "" if isinstance(upload, str) else (upload.filename or "")
        return parse(raw, JSON_TYPES[0] if name.endswith(".json") else YAML_TYPES[0])
    if media not in JSON_TYPES + YAML_TYPES:
        raise Invalid(
            "media_type_unsupported",
            "send the document as application/json, application/yaml or a form upload",
            field="content-type",
        )
    return parse(await request.body(), media)


class ReportedView(BaseModel):
    operation: str = Field(description="`METHOD /path`, or the MCP tool's name.")
    name: str | None = Field(description="The tool name it maps to.")
    outcome: str = Field(description="created, skipped or failed.")
    tool_id: UUID | None = None
    version: str | None = None
    code: str | None = None
    field: str | None = Field(default=None, description="Where a failure is, e.g. a JSON path.")
    reason: str | None = None


class ImportReport(BaseModel):
    created: int
    skipped: int
    failed: int
    operations: list[ReportedView]

    @classmethod
    def of(cls, report: list[handlers.Reported]) -> "ImportReport":
        count = {o: sum(1 for r in report if r.outcome == o) for o in ("created", "skipped")}
        return cls(
            created=count["created"],
            skipped=count["skipped"],
            failed=len(report) - count["created"] - count["skipped"],
            operations=[
                ReportedView(
                    operation=r.operation,
                    name=r.name,
                    outcome=r.outcome,
                    tool_id=r.tool_id,
                    version=r.version,
                    code=r.code,
                    field=r.field,
                    reason=r.reason,
                )
                for r in report
            ],
        )


DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {"document": {"type": "string", "format": "binary"}},
                    "required": ["document"],
                }
            },
        },
    }
}


@router.post(
    "/tools/import/openapi",
    response_model=ImportReport,
    responses=errors(KEY_ERRORS, INACTIVE, INVALID, TOO_LARGE),
    openapi_extra=DOCUMENT_BODY,
)
async def import_openapi(
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
    version: Annotated[str, Query(max_length=MAX_VERSION)] = "1.0.0",
    prefix: Annotated[str, Query(max_length=64, description="Before every tool name.")] = "",
    base_url: Annotated[str | None, Query(max_length=2000, description="Not servers[0].")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    credential: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A tenant secret's name, presented as each operation's security "
            "requirement asks (bearer, basic, API key in a header or the query).",
        ),
    ] = None,
) -> Response:
    """Every operation of an OpenAPI 3.0/3.1 document as a tool with a draft version
    (`operationId` -> name, snake_cased; parameters and the JSON request body as `body` ->
    input schema, `$ref`s inlined; an `http` binding to servers[0] + path). One transaction;
    the report says per operation: created, skipped (the name is taken, a method an http
    binding cannot send) or failed (field and reason). Each binding records where its
    parameters go (`config.params`); with `credential`, the auth its security asks for.
    The document itself invalid, over 1,000 operations, with a non-local or cyclic `$ref`
    chain, or on a blocked host: 422. Honours `Idempotency-Key` (the document and the
    query are the request)."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    document = await _document(request)
    options = openapi.Options(version, prefix, base_url, category, credential)
    report = await handlers.import_openapi(handlers.ImportOpenApi(document, options), uow, deps)
    return await _answer(idem, uow, report)


async def _answer(idem: Idempotency, uow: Any, report: list[handlers.Reported]) -> Response:
    """The report, stored with the request's Idempotency-Key, committed with the tools."""
    response = JSONResponse(ImportReport.of(report).model_dump(mode="json"))
    await idem.save(response)
    await uow.commit()
    return response


class McpImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL, description="The MCP server's streamable HTTP URL.")
    version: str = Field(default="1.0.0", max_length=MAX_VERSION)
    prefix: str = Field(default="", max_length=64, description="Before every tool name.")
    category: str | None = Field(default=None, max_length=64)
    credential: str | None = Field(
        default=None,
        max_length=200,
        description="A tenant secret's name, sent as a bearer token when execution calls the "
        "tools (the listing itself is made without credentials).",
    )


@router.post(
    "/tools/import/mcp",
    response_model=ImportReport,
    responses=errors(
        KEY_ERRORS,
        INACTIVE,
        INVALID,
        TOO_LARGE,
        (502, "The MCP server is unreachable or answered wrongly."),
        (504, "The MCP server did not list its tools in time."),
    ),
)
async def import_mcp(
    body: McpImportIn,
    request: Request,
    principal: Writer,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Every tool an MCP server lists (`tools/list` over streamable HTTP) as a tool with a
    draft version and an `mcp` binding (server URL + tool name). The URL passes the SSRF
    guard as an http tool's does (`AGENTSUITE_CATALOG_ALLOWED_HOSTS`); at most 1,000 tools,
    within `AGENTSUITE_CATALOG_MCP_IMPORT_TIMEOUT` seconds. One transaction; a report per
    tool as for OpenAPI. Honours `Idempotency-Key`: a retry of a finished import gets its
    report without listing the server again."""
    options = mcp.Options(body.url, body.version, body.prefix, body.category, body.credential)
    with problems(principal):
        if request.headers.get(HEADER) is not None:
            # a peek, rolled back: the key is claimed for good with the tools, below
            async with deps.runtime.uow(principal.tenant) as uow:
                idem = await idempotency(request, uow.session, subject=principal.subject)
                if idem.replay is not None:
                    return idem.replay
        # listed before the unit of work opens: a slow server holds no database connection
        listed = await handlers.listing(options, deps)
        async with deps.runtime.uow(principal.tenant) as uow:
            idem = await idempotency(request, uow.session, subject=principal.subject)
            if idem.replay is not None:  # a concurrent duplicate finished first
                return idem.replay
            report = await handlers.import_mcp(handlers.ImportMcp(options, listed), uow, deps)
            return await _answer(idem, uow, report)
