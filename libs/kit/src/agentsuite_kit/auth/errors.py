"""The one exception auth raises, with a code callers can branch on."""

from __future__ import annotations

from enum import StrEnum


class AuthCode(StrEnum):
    MISSING = "missing_token"
    MALFORMED = "malformed"
    ALG_NONE = "alg_none"
    ALG_NOT_ALLOWED = "alg_not_allowed"
    ALG_MISMATCH = "alg_mismatch"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    JWKS_UNAVAILABLE = "jwks_unavailable"
    WRONG_TYPE = "wrong_token_type"
    TENANT_REQUIRED = "tenant_required"
    ORG_SCOPE = "org_scope"
    RATE_LIMITED = "rate_limited"


class AuthError(Exception):
    """A token was not accepted; `detail` is safe to show the caller. `retry_after`: the
    seconds after which it may be tried again (RATE_LIMITED)."""

    def __init__(self, code: AuthCode, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
