"""The OpenAI-compatible edge: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`.

The official clients work unchanged: bodies are OpenAI's, errors carry OpenAI's `error`
object (beside the problem+json members every Agentsuite error has). Gateway-only inputs
travel in an `agentsuite` member (the clients' `extra_body`) or headers:
`X-Agentsuite-Run-Id`, `X-Agentsuite-Max-Cost` (currency units), `X-Agentsuite-Cache`
(`on`|`off`), `X-Agentsuite-Cache-Ttl` (seconds). Bodies are parsed with orjson, not a
pydantic model: this is the hot path, and the checks here are the few the gateway needs
before routing (the provider validates the rest, as OpenAI would).
"""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.auth.principal import Principal, PrincipalKind
from agentsuite_kit.edge import gate, read_body, subject_id, user_id_of
from agentsuite_kit.storable import unstorable_decoded, unstorable_json
from agentsuite_llm_gateway.api.common import AppDeps
from agentsuite_llm_gateway.api.errors import OPENAI_ERRORS, EdgeError, openai_error
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import MILLION
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.routing import forbidden
from agentsuite_llm_gateway.gateway import Options, Outcome

Json = dict[str, Any]

CHAT_SCHEMA: Json = {
    "type": "object",
    "description": "An OpenAI chat-completions request; `prompt` may replace `messages`.",
    "properties": {
        "model": {
            "type": ["string", "null"],
            "description": "Model or alias; default: your preference.",
        },
        "messages": {"type": ["array", "null"], "items": {"type": "object"}},
        "stream": {"type": ["boolean", "null"]},
        "prompt": {
            "type": ["object", "null"],
            "description": "A stored prompt: {name, label | version, variables}.",
        },
        "agentsuite": {
            "type": ["object", "null"],
            "description": "Gateway options: run_id, max_cost (currency units), cache, cache_ttl.",
        },
    },
    "additionalProperties": True,
}
EMBEDDINGS_SCHEMA: Json = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"oneOf": [{"type": "string"}, {"type": "array"}]},
    },
    "additionalProperties": True,
}


MAX_RUN_ID = 200
MAX_COST = Decimal(1_000_000_000)  # currency units: far above any call, far below overflow


def caller_of(principal: Principal, run_id: str | None = None) -> Caller:
    """Attribution from the token: an API key's token names its key, owner and org."""
    claims = principal.claims
    user = api_key = None
    if principal.kind is PrincipalKind.API_KEY:
        api_key = subject_id(principal)
        user = _uuid(claims.get("owner"))
    else:
        user = user_id_of(principal)
    requester = principal.subject if principal.kind is PrincipalKind.SERVICE else "api"
    return Caller(
        tenant_id=principal.tenant,
        user_id=user,
        org_id=_uuid(claims.get("org")),
        api_key_id=api_key,
        source="api",
        requester=requester,
        run_id=run_id,
    )


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def _too_big(limit: int) -> EdgeError:
    return EdgeError(413, Code.INVALID_REQUEST, f"body over {limit} bytes")


async def _body(request: Request, deps: Deps) -> Json:
    raw = await read_body(request, deps.settings.max_request_bytes, refuse=_too_big)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        found = unstorable_json(raw)  # orjson refuses a lone surrogate: name where it is
        if found is not None:
            raise GatewayError(
                Code.INVALID_REQUEST, f"{found.path}: {found.reason}", param=found.path or None
            ) from None
        raise GatewayError(Code.INVALID_REQUEST, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise GatewayError(Code.INVALID_REQUEST, "body must be a JSON object")
    _storable(request, raw, body)
    for name, kind, what in _TYPED:
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            raise GatewayError(Code.INVALID_REQUEST, f"{name}: must be {what}", param=name)
    return body


def _storable(request: Request, raw: bytes, body: Json) -> None:
    """Refuse, before any upstream call, text PostgreSQL cannot hold (the kit's rule every
    other route gets from its app-wide dependency, which this hot path skips): the call's
    labels, traces and cached answer are stored, and an echo of it used to fail the cache's
    INSERT after the call was made and billed."""
    for name, value in request.headers.raw:
        if b"\x00" in value:
            header = name.decode("latin-1")
            raise GatewayError(Code.INVALID_REQUEST, f"{header}: contains NUL", param=header)
    found = unstorable_decoded(body, raw, numbers=False)  # walks on a hint only
    if found is not None:
        raise GatewayError(
            Code.INVALID_REQUEST, f"{found.path}: {found.reason}", param=found.path or None
        )


# the members the gateway itself reads: a wrong type is refused here, not misread later
_TYPED: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("model", str, "a string"),
    ("stream", bool, "a boolean"),
    ("messages", list, "an array of messages"),
    ("prompt", dict, "an object {name, label | version, variables}"),
    ("agentsuite", dict, "an object {run_id, max_cost, cache, cache_ttl}"),
    ("stream_options", dict, "an object"),
    ("metadata", dict, "an object"),
)


def _options(request: Request, body: Json) -> tuple[Options, str | None]:
    extra = body.get("agentsuite")
    extra = extra if isinstance(extra, dict) else {}
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    headers = request.headers
    run_id = headers.get("x-agentsuite-run-id") or extra.get("run_id") or metadata.get("run_id")
    if run_id is not None and (not isinstance(run_id, str | int) or len(str(run_id)) > MAX_RUN_ID):
        raise GatewayError(
            Code.INVALID_REQUEST,
            f"run_id: a string of at most {MAX_RUN_ID} characters",
            param="run_id",
        )
    cap = headers.get("x-agentsuite-max-cost") or extra.get("max_cost")
    max_cost = None
    if cap is not None:
        try:
            amount = Decimal(str(cap)) if isinstance(cap, str | int | float) else Decimal(-1)
        except (InvalidOperation, ArithmeticError):
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount > MAX_COST:
            raise GatewayError(
                Code.INVALID_REQUEST,
                f"max_cost: a decimal amount from 0 to {MAX_COST}",
                param="max_cost",
            )
        max_cost = int(amount * MILLION)
    cache_header = headers.get("x-agentsuite-cache")
    cache = cache_header.lower() == "on" if cache_header else bool(extra.get("cache", False))
    ttl_raw = headers.get("x-agentsuite-cache-ttl") or extra.get("cache_ttl")
    ttl = None
    if ttl_raw is not None:
        try:
            ttl = float(ttl_raw) if isinstance(ttl_raw, str | int | float) else -1.0
        except (ValueError, OverflowError):
            ttl = -1.0
        if not 0 < ttl <= 30 * 86_400:
            raise GatewayError(
                Code.INVALID_REQUEST, "cache_ttl: seconds, up to 30 days", param="cache_ttl"
            )
    request_id = _uuid(headers.get("x-request-id")) or uuid7()
    labels = {"run_id": str(run_id)} if run_id else {}
    options = Options(
        request_id=request_id, max_cost_micros=max_cost, cache=cache, cache_ttl=ttl, labels=labels
    )
    return options, str(run_id) if run_id else None


def _reply(outcome: Outcome) -> Response:
    return Response(
        content=orjson.dumps(outcome.body),
        media_type="application/json",
        headers={
            "x-request-id": str(outcome.body["agentsuite"]["request_id"]),
            "x-agentsuite-model": outcome.model,
            "x-agentsuite-provider": outcome.provider,
            "x-agentsuite-cost-micros": str(outcome.cost_micros),
            "x-agentsuite-cached": "true" if outcome.cached else "false",
        },
    )


async def chat_response(request: Request, principal: Principal, deps: Deps) -> Response:
    """`POST /v1/chat/completions` once the caller is known (the route and the fast path)."""
    body: Json = {}
    options: Options | None = None
    try:
        body = await _body(request, deps)
        options, run_id = _options(request, body)
        caller = caller_of(principal, run_id)
        if body.get("stream") is True:
            chunks = await deps.gateway.stream(caller, body, options)
            return StreamingResponse(
                chunks,
                media_type="text/event-stream",
                headers={"x-request-id": str(options.request_id), "cache-control": "no-cache"},
            )
        return _reply(await deps.gateway.chat(caller, body, options))
    except GatewayError as exc:
        return refusal(deps, principal, body, options, exc)


async def embeddings_response(request: Request, principal: Principal, deps: Deps) -> Response:
    """`POST /v1/embeddings` once the caller is known (the route and the fast path)."""
    body: Json = {}
    options: Options | None = None
    try:
        body = await _body(request, deps)
        if not isinstance(body.get("input"), str | list) or not body.get("input"):
            raise GatewayError(
                Code.INVALID_REQUEST, "input: a string or a non-empty list", param="input"
            )
        options, run_id = _options(request, body)
        return _reply(await deps.gateway.embed(caller_of(principal, run_id), body, options))
    except GatewayError as exc:
        return refusal(deps, principal, body, options, exc)


def refusal(
    deps: Deps, principal: Principal, body: Json, options: Options | None, exc: GatewayError
) -> Response:
    """The error response; a refusal of the edge itself (a bad body, a bad option) is
    traced here, the gateway's own have been already."""
    if not exc.traced:
        options = options or Options(request_id=uuid7())
        run_id = options.labels.get("run_id")
        deps.gateway.outcomes.refused(caller_of(principal, run_id), options, body.get("model"), exc)
    return openai_error(exc)


ORG_CONFINED = True
"""The OpenAI edge admits an org-scoped token (issue 21): `caller_of` attributes each call
to the token's org, so the org's rules and budgets apply and its traces carry the org; the
fast path (api/fast.py) applies the same rule."""


Invoker = Annotated[Principal, gate("llm:invoke", org=ORG_CONFINED)]

routes = APIRouter(tags=["openai"], responses=OPENAI_ERRORS)


@routes.post(
    "/v1/chat/completions",
    summary="Create a chat completion (OpenAI-compatible; `stream: true` for SSE)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CHAT_SCHEMA}},
        }
    },
    responses={
        200: {
            "description": "A `chat.completion`, or an SSE stream of `chat.completion.chunk`.",
            "content": {"application/json": {}, "text/event-stream": {}},
        }
    },
)
async def chat(request: Request, principal: Invoker, deps: AppDeps) -> Response:
    return await chat_response(request, principal, deps)


@routes.post(
    "/v1/embeddings",
    summary="Create embeddings (OpenAI-compatible)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EMBEDDINGS_SCHEMA}},
        }
    },
    responses={200: {"description": "An embeddings `list`.", "content": {"application/json": {}}}},
)
async def embeddings(request: Request, principal: Invoker, deps: AppDeps) -> Response:
    return await embeddings_response(request, principal, deps)


@routes.get(
    "/v1/models",
    summary="List the models and aliases you may call (OpenAI-compatible)",
    responses={
        200: {"description": "An OpenAI model `list`.", "content": {"application/json": {}}}
    },
)
async def models(principal: Invoker, deps: AppDeps) -> Response:
    caller = caller_of(principal)
    catalog = await deps.catalogs.get(caller.tenant_id)
    data = [
        {"id": m.name, "object": "model", "created": 0, "owned_by": m.provider.name}
        for m in sorted(catalog.models.values(), key=lambda m: m.name)
        if m.routable and not forbidden(catalog, caller, m.name)
    ]
    data += [
        {"id": a.name, "object": "model", "created": 0, "owned_by": "alias"}
        for a in sorted(catalog.aliases.values(), key=lambda a: a.name)
    ]
    return Response(
        content=orjson.dumps({"object": "list", "data": data}), media_type="application/json"
    )
