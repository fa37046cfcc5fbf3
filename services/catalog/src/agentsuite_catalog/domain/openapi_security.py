"""An OpenAPI operation's security requirement as an http binding's `auth`: the scheme
it names (bearer, basic, an API key in a header or the query; OAuth 2 and OpenID Connect
as a bearer access token) presenting the tenant secret the import was given by name."""

from __future__ import annotations

from typing import Any

from agentsuite_catalog.domain.bindings import Auth
from agentsuite_contracts.catalog import AuthScheme
from agentsuite_kit.errors import Invalid


def auth_of(
    document: dict[str, Any], op: dict[str, Any], credential: str | None, place: str
) -> Auth | None:
    """The credential the operation's security requirement asks for, by the import's
    secret name (none given, or none required: no auth)."""
    requirements = op.get("security", document.get("security")) or []
    if credential is None or not requirements or {} in requirements:
        return None
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for requirement in requirements:
        if not isinstance(requirement, dict) or len(requirement) != 1:
            continue  # several schemes at once: one credential cannot present them
        scheme = schemes.get(next(iter(requirement)))
        auth = _scheme_auth(scheme if isinstance(scheme, dict) else {}, credential)
        if auth is not None:
            return auth
    raise Invalid(
        "security_unsupported",
        "no security requirement of the operation is a bearer, basic, or header or query "
        "API key scheme: an http binding cannot present its credential",
        field=f"{place}.security",
    )


def _scheme_auth(scheme: dict[str, Any], credential: str) -> Auth | None:
    kind = scheme.get("type")
    if kind == "http":
        named = str(scheme.get("scheme", "")).lower()
        found = {"bearer": AuthScheme.BEARER, "basic": AuthScheme.BASIC}.get(named)
        return None if found is None else Auth(found, credential)
    if kind in ("oauth2", "openIdConnect"):  # an access token, sent as a bearer
        return Auth(AuthScheme.BEARER, credential)
    if kind == "apiKey" and isinstance(scheme.get("name"), str):
        located = {"header": AuthScheme.HEADER, "query": AuthScheme.QUERY}.get(
            str(scheme.get("in"))
        )
        return None if located is None else Auth(located, credential, scheme["name"])
    return None
