"""`POST /v1/token` (RFC 6749) and `POST /v1/revoke` (RFC 7009).

The token endpoint speaks OAuth2, not problem+json: errors are RFC 6749 §5.2 JSON
(`{"error", "error_description"}`), 400, or 401 for a client that failed to authenticate,
and no answer of it may be cached.
"""

from __future__ import annotations

import base64
import binascii
import importlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from agentsuite_identity.api.common import AppDeps, Bounded
from agentsuite_identity.grants import (
    GRANT_CLIENT_CREDENTIALS,
    GRANT_PASSWORD,
    GRANT_REFRESH,
    GRANT_TOKEN_EXCHANGE,
    OAuthError,
    TokenForm,
    TokenResponse,
    client_credentials,
    password,
    refresh,
)
from agentsuite_identity.handlers.tokens import (
    REFRESH_PREFIX,
    Client,
    hash_refresh,
    revoke_family,
)
from agentsuite_kit.storable import escape_text, text_flaw

Grant = Callable[..., Awaitable[TokenResponse]]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2."""

    error: str = Field(description="invalid_request, invalid_client, invalid_grant, ...")
    error_description: str | None = None


class RevokeForm(BaseModel):
    token: str = Field(max_length=512)
    token_type_hint: str | None = Field(default=None, max_length=40)


def _form_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {_FORM: {"schema": model.model_json_schema()}},
        }
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error."},
    401: {"model": OAuthErrorBody, "description": "invalid_client: client authentication failed."},
    429: {
        "model": OAuthErrorBody,
        "description": "Too many failed sign-ins from this address; see Retry-After.",
    },
}


def _api_key_grant() -> Grant | None:
    try:
        module = importlib.import_module("agentsuite_identity.grants.api_key")
    except ModuleNotFoundError:
        return None
    found: Grant | None = getattr(module, "grant", None)
    return found


def _grant_for(grant_type: str) -> Grant | None:
    grants: dict[str, Grant] = {
        GRANT_PASSWORD: password.grant,
        GRANT_REFRESH: refresh.grant,
        GRANT_CLIENT_CREDENTIALS: client_credentials.grant,
    }
    if grant_type == GRANT_TOKEN_EXCHANGE:
        return _api_key_grant()
    return grants.get(grant_type)


def oauth_error(error: OAuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="agentsuite"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


async def _fields(request: Request) -> dict[str, str]:
    """The form's fields; RFC 6749 §3.2: a parameter must not be sent twice."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        raise OAuthError("invalid_request", f"the body must be {_FORM}")
    fields: dict[str, str] = {}
    async with request.form(max_files=0, max_fields=50) as form:
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise OAuthError("invalid_request", f"{name} must be a plain form field")
            if name in fields:
                raise OAuthError("invalid_request", f"{name} is given more than once")
            flaw = text_flaw(name) or text_flaw(value)
            if flaw is not None:  # looked up and logged in PostgreSQL: refused, not a 500
                raise OAuthError("invalid_request", f"{escape_text(name)}: {flaw}")
            if value != "":  # RFC 6749 §3.1: an empty parameter is as if omitted
                fields[name] = value
    return fields


def _basic_client(request: Request, fields: dict[str, str]) -> None:
    """Fold HTTP Basic client credentials (RFC 6749 §2.3.1) into the form's fields."""
    header = request.headers.get("authorization")
    if header is None:
        return
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return
    if "client_secret" in fields:
        raise OAuthError("invalid_request", "use one client authentication method, not two")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "malformed Basic credentials", status=401)
    client_id = unquote_plus(client_id)
    if fields.get("client_id", client_id) != client_id:
        raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
    fields["client_id"], fields["client_secret"] = client_id, unquote_plus(secret)


def _parse(model: type[TokenForm] | type[RevokeForm], fields: dict[str, str]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        # name the field, never echo its value (it may be a password)
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise OAuthError("invalid_request", f"{where}: {first['msg']}") from None


def _client(request: Request) -> dict[str, str | None]:
    """The client's address (the peer, or what a trusted proxy forwarded: the kit's
    `trusted_proxies` middleware has already put it in `request.client`) and user agent."""
    return {
        "address": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent"),
    }


routes = APIRouter(prefix="/v1", tags=["tokens"], route_class=Bounded)


@routes.post(
    "/token",
    summary="Issue an access token (OAuth2 token endpoint)",
    description=(
        "Grants: `password` (username = email, `tenant` = tenant slug, optional `org`), "
        "`refresh_token` (rotates: the presented token is spent, a used one revokes its "
        "whole family), `client_credentials` (service accounts; HTTP Basic or form "
        "client_id/client_secret; `scope` narrows), and RFC 8693 token exchange of an "
        "API key. Errors follow RFC 6749 §5.2."
    ),
    response_model=TokenResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    openapi_extra=_form_body(TokenForm),
)
async def token(deps: AppDeps, request: Request) -> JSONResponse:
    try:
        fields = await _fields(request)
        _basic_client(request, fields)
        form: TokenForm = _parse(TokenForm, fields)
        grant = _grant_for(form.grant_type)
        if grant is None:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {form.grant_type!r} is not supported"
            )
        issued = await grant(form, deps, **_client(request))
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(issued.model_dump(exclude_none=True), headers=_NO_STORE)


@routes.post(
    "/revoke",
    summary="Revoke a refresh token and its session (RFC 7009)",
    description=(
        "Answers 200 whether or not the token was known or live, so it tells nothing "
        "about tokens; access tokens are short-lived and are not revocable here."
    ),
    responses={400: _ERRORS[400]},
    openapi_extra=_form_body(RevokeForm),
)
async def revoke(deps: AppDeps, request: Request) -> JSONResponse:
    try:
        body: RevokeForm = _parse(RevokeForm, await _fields(request))
    except OAuthError as exc:
        return oauth_error(exc)
    if body.token.startswith(REFRESH_PREFIX):
        digest = hash_refresh(body.token)
        async with deps.runtime.uow(None, all_tenants=True) as uow:
            tenant_id = await uow.refresh_tokens.tenant_of(digest)
        if tenant_id is not None:
            async with deps.runtime.uow(tenant_id) as uow:
                row = await uow.refresh_tokens.claim(digest)
                if row is not None:
                    client = Client.of(**_client(request))
                    await revoke_family(uow, row.user_id, row.family_id, "logout", client)
                    await uow.commit()
    return JSONResponse({}, headers=_NO_STORE)
