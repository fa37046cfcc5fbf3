"""Public discovery documents: the JWKS verifiers fetch and the OpenID configuration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from agentsuite_identity.api.common import AppDeps, Bounded
from agentsuite_identity.signing import Keyring

# verifiers refetch on an unknown kid anyway; a short max-age keeps rotation visible fast
_CACHE = "public, max-age=60"

GRANT_API_KEY = "urn:ietf:params:oauth:grant-type:token-exchange"


routes = APIRouter(tags=["discovery"], route_class=Bounded)


@routes.get("/.well-known/jwks.json", summary="Public keys that verify identity's tokens")
async def jwks(deps: AppDeps, response: Response) -> dict[str, Any]:
    async with deps.runtime.uow(None) as uow:
        document = await Keyring.jwks(uow)
    response.headers["Cache-Control"] = _CACHE
    return document


@routes.get("/.well-known/openid-configuration", summary="Authorization server metadata")
async def openid_configuration(deps: AppDeps, response: Response) -> dict[str, Any]:
    s = deps.settings
    base = s.base_url()
    async with deps.runtime.uow(None) as uow:
        algorithms = await deps.keyring.algorithms(uow)
    response.headers["Cache-Control"] = _CACHE
    return {
        "issuer": s.jwt_issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/v1/token",
        "grant_types_supported": [
            "password",
            "refresh_token",
            "client_credentials",
            GRANT_API_KEY,
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        # Ed25519 (RFC 9864), and EdDSA while a key made before the switch still
        # verifies. No token_endpoint_auth_signing_alg_values_supported: RFC 8414 ties it
        # to private_key_jwt / client_secret_jwt, which the token endpoint does not take.
        "id_token_signing_alg_values_supported": algorithms,
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "scopes_supported": [],
    }
