"""The `client_credentials` grant: a service account trades its client id and secret for
an access token (no refresh token: it can always ask again).

`scope` may narrow the token to some of the account's capabilities, never widen it.
Every failure to authenticate the client is the same `invalid_client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from agentsuite_identity.domain import capabilities as catalogue
from agentsuite_identity.grants import OAuthError, TokenForm, TokenResponse
from agentsuite_identity.handlers.service_accounts import hash_secret, secret_matches
from agentsuite_identity.handlers.tokens import sign_access
from agentsuite_kit.auth.principal import PrincipalKind

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

_BAD_CLIENT = "Client authentication failed."
# compared against when the client id is unknown, so that case costs the same
_DECOY_HASH = hash_secret("no-such-client")


def narrowed(held: list[str], scope: str | None) -> list[str]:
    """The capabilities the token carries: all held, or the requested subset of them."""
    if scope is None or not scope.strip():
        return sorted(held)
    wanted = sorted(set(scope.split()))
    unknown = catalogue.unknown(wanted, platform=True)
    if unknown:
        raise OAuthError("invalid_scope", f"unknown capabilities: {' '.join(unknown)}")
    beyond = [w for w in wanted if not any(catalogue.matches(h, w) for h in held)]
    if beyond:
        raise OAuthError("invalid_scope", f"not granted to this client: {' '.join(beyond)}")
    return wanted


async def grant(
    form: TokenForm, deps: Deps, *, address: str | None, user_agent: str | None = None
) -> TokenResponse:
    if not form.client_id or not form.client_secret:
        raise OAuthError("invalid_client", _BAD_CLIENT, status=401)
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        account = await uow.service_accounts.by_client_id(form.client_id)
    matches = secret_matches(
        _DECOY_HASH if account is None else account.secret_hash, form.client_secret
    )
    if account is None or not matches or account.status != "active":
        raise OAuthError("invalid_client", _BAD_CLIENT, status=401)
    tenant_id = None if account.tenant_id is None else UUID(str(account.tenant_id))
    if tenant_id is not None:
        async with deps.runtime.uow(tenant_id) as uow:
            account_id = UUID(str(account.service_account_id))
            if not await uow.tenants.principal_active(PrincipalKind.SERVICE, account_id):
                raise OAuthError("invalid_client", _BAD_CLIENT, status=401)
    caps = narrowed(list(account.capabilities), form.scope)
    kind = PrincipalKind.PLATFORM if account.kind == "platform" else PrincipalKind.SERVICE
    token = await sign_access(
        deps,
        subject=str(account.service_account_id),
        kind=kind,
        tenant_id=tenant_id,
        capabilities=caps,
        client_id=account.client_id,
    )
    return TokenResponse(
        access_token=token, expires_in=deps.settings.access_token_ttl, scope=" ".join(caps)
    )
