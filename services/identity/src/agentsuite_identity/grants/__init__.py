"""The grants of `POST /v1/token`, one module each: `password`, `refresh`,
`client_credentials` and `api_key` (RFC 8693 token exchange of an `ask_...` key).

Each is `async def grant(form: TokenForm, deps: Deps, *, address: str | None,
user_agent: str | None = None) -> TokenResponse`, raising `OAuthError` for RFC 6749 §5.2
errors; `address` and `user_agent` describe the client for throttling and audit events.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

GRANT_PASSWORD = "password"
GRANT_REFRESH = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
API_KEY_TOKEN_TYPE = "urn:agentsuite:params:oauth:token-type:api-key"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

OAuthErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "slow_down",
]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: answered as JSON `{"error", "error_description"}`."""

    def __init__(
        self,
        error: OAuthErrorCode,
        description: str,
        *,
        status: int = 400,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after


class TokenForm(BaseModel):
    """The form fields of `POST /v1/token` (application/x-www-form-urlencoded)."""

    grant_type: str = Field(max_length=200)
    username: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, max_length=1024)
    tenant: str | None = Field(
        default=None, max_length=63, description="Tenant slug, for the password grant."
    )
    org: str | None = Field(default=None, max_length=63, description="Org slug or id to act in.")
    refresh_token: str | None = Field(default=None, max_length=512)
    client_id: str | None = Field(default=None, max_length=80)
    client_secret: str | None = Field(default=None, max_length=512)
    scope: str | None = Field(default=None, max_length=4096)
    subject_token: str | None = Field(default=None, max_length=512)
    subject_token_type: str | None = Field(default=None, max_length=200)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 (and RFC 8693 §2.2.1 for the exchange)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None
    issued_token_type: str | None = None
