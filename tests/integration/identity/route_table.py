"""identity's route table read from the app itself: for every route, the capabilities its
`require(...)` gates demand and whether it admits platform principals.

The role and cross-tenant matrices are generated from this, so a route added later is
covered without editing them. A `/v1` route with no `require` gate must be listed in
`PUBLIC` (why it needs no token), or `unguarded()` names it: an open route is never silent.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from agentsuite_kit.auth import fastapi as kit_fastapi

PUBLIC: dict[str, str] = {
    "GET /.well-known/jwks.json": "public keys, by definition public",
    "GET /.well-known/openid-configuration": "discovery metadata",
    "POST /v1/token": "the OAuth token endpoint authenticates by its grant",
    "POST /v1/revoke": "RFC 7009: the token being revoked is the credential",
    "POST /v1/invitations/accept": "the invitation token is the credential",
    "POST /v1/invitations/{token}/accept": "the invitation token is the credential",
}
"""Routes that need no bearer token, and why."""

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True)
class Gate:
    method: str
    path: str
    capabilities: tuple[str, ...]
    platform: bool
    authenticated: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def url(self, ids: Mapping[str, str]) -> str:
        return _PARAM.sub(lambda m: ids[m.group(1)], self.path)


def _require_closure(dep: Dependant) -> tuple[tuple[str, ...], bool] | None:
    """(capabilities, platform) of a `require(...)` dependency, None for anything else."""
    call = dep.call
    if getattr(call, "__module__", None) != kit_fastapi.__name__:
        return None
    if getattr(call, "__qualname__", "") != "require.<locals>.dependency":
        return None
    assert call is not None
    caps = tuple(inspect.getclosurevars(call).nonlocals["capabilities"])
    # the principal it depends on says whether tenantless principals pass
    platform = any(d.call is kit_fastapi._platform_principal for d in dep.dependencies)
    return caps, platform


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _principal_calls() -> set[Callable[..., Any]]:
    return {kit_fastapi.current_principal, kit_fastapi._platform_principal}


def gates(app: FastAPI) -> list[Gate]:
    """Every method+path of the app (HEAD and OPTIONS aside), with its gate."""
    out: list[Gate] = []
    # the walk FastAPI's OpenAPI export makes: included routers keep their own prefixes
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        path = context.path
        if not isinstance(dependant, Dependant) or path is None:
            continue
        caps: list[str] = []
        platform = False
        authenticated = False
        for dep in _walk(dependant):
            if dep.call is None:
                continue
            found = _require_closure(dep)
            if found is not None:
                caps.extend(found[0])
                platform = platform or found[1]
                authenticated = True
            elif dep.call in _principal_calls():
                authenticated = True
                platform = platform or dep.call is kit_fastapi._platform_principal
        for method in sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"}):
            out.append(Gate(method, path, tuple(dict.fromkeys(caps)), platform, authenticated))
    return out


def unguarded(app: FastAPI) -> list[str]:
    """`/v1` routes with no principal dependency that `PUBLIC` does not explain.

    Also catches a gate FastAPI never saw: `Depends(require(...))` inside a string
    annotation (`from __future__ import annotations`) that names a local variable turns
    the principal into a query parameter and leaves the route open.
    """
    return [
        g.name
        for g in gates(app)
        if g.path.startswith("/v1") and not g.authenticated and g.name not in PUBLIC
    ]


def api_gates(app: FastAPI) -> list[Gate]:
    """The `/v1` routes: what the matrices call."""
    return [g for g in gates(app) if g.path.startswith("/v1")]


# --- path ids ---------------------------------------------------------------------------

_SEGMENT_KEYS: dict[str, str] = {
    "tenants": "tenant_id",
    "users": "user_id",
    "orgs": "org_id",
    "organizations": "org_id",
    "members": "member_user_id",
    "invitations": "invitation_id",
    "roles": "role_id",
    "role-assignments": "assignment_id",
    "assignments": "assignment_id",
    "policies": "policy_id",
    "decisions": "decision_id",
    "api-keys": "api_key_id",
    "service-accounts": "service_account_id",
    "signing-keys": "kid",
}


def path_ids(
    gate: Gate, known: Mapping[str, str], *, fallback: str | None = None
) -> dict[str, str]:
    """A value for every path parameter of `gate`: by the parameter's own name in `known`,
    else by the collection segment in front of it (`/orgs/{id}` -> org_id), else `fallback`
    (a fresh UUID by default)."""
    segments = gate.path.strip("/").split("/")
    ids: dict[str, str] = {}
    for i, seg in enumerate(segments):
        match = _PARAM.fullmatch(seg)
        if match is None:
            continue
        name = match.group(1)
        key = name if name in known else _SEGMENT_KEYS.get(segments[i - 1] if i else "", "")
        if key == "member_user_id" and key not in known:
            key = "user_id"
        value = known.get(key)
        ids[name] = value if value is not None else (fallback or str(uuid.uuid4()))
    return ids


def as_uuid(value: str | UUID) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
