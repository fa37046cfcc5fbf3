"""llm-gateway's route table, twice: read from the app itself (`gates`: for every route, the
capabilities its `require(...)` gates demand), and written out by hand (`ROUTES`: what each
`/v1` route is, for the cross-tenant matrix). A test holds the two equal, so a route added
later fails until it is classified here, and a route without a gate fails unless `PUBLIC`
says why it needs none.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from agentsuite_kit.auth import fastapi as kit_fastapi

PUBLIC: dict[str, str] = {
    "GET /healthz": "liveness, for the orchestrator",
    "GET /readyz": "readiness, for the orchestrator",
    "GET /metrics": "Prometheus scrapes it inside the cluster",
    "GET /openapi.json": "the API's own description",
    "GET /docs": "Swagger UI over /openapi.json",
    "GET /docs/oauth2-redirect": "Swagger UI's OAuth helper page",
    "GET /redoc": "ReDoc over /openapi.json",
}
"""Routes that need no bearer token, and why. No `/v1` route is among them."""


class Kind(StrEnum):
    OBJECT = "object"
    """Names one object in its path: another tenant's id is a 404, read or write."""
    LIST = "list"
    """Lists (or sums) the caller's tenant's objects: another tenant's never appear."""
    CREATE = "create"
    """Creates in the caller's tenant, whatever names its body carries."""
    OWN = "own"
    """Sets the caller's tenant's own settings (a preference keyed by the tenant or a user
    id, which are identity's, not the gateway's objects)."""
    OPENAI = "openai"
    """The OpenAI edge: another tenant's model, alias or prompt name is unknown (404)."""


ROUTES: dict[str, Kind] = {
    "POST /v1/chat/completions": Kind.OPENAI,
    "POST /v1/embeddings": Kind.OPENAI,
    "GET /v1/models": Kind.LIST,
    # providers, models, prices
    "POST /v1/providers": Kind.CREATE,
    "GET /v1/providers": Kind.LIST,
    "GET /v1/providers/{provider_id}": Kind.OBJECT,
    "PATCH /v1/providers/{provider_id}": Kind.OBJECT,
    "DELETE /v1/providers/{provider_id}": Kind.OBJECT,
    "POST /v1/providers/{provider_id}/models": Kind.OBJECT,
    "GET /v1/providers/{provider_id}/models": Kind.OBJECT,
    "GET /v1/providers/{provider_id}/models/{model_id}": Kind.OBJECT,
    "PATCH /v1/providers/{provider_id}/models/{model_id}": Kind.OBJECT,
    "DELETE /v1/providers/{provider_id}/models/{model_id}": Kind.OBJECT,
    "POST /v1/providers/{provider_id}/models/{model_id}/prices": Kind.OBJECT,
    "GET /v1/providers/{provider_id}/models/{model_id}/prices": Kind.OBJECT,
    # routing
    "POST /v1/aliases": Kind.CREATE,
    "GET /v1/aliases": Kind.LIST,
    "GET /v1/aliases/{name}": Kind.OBJECT,
    "PUT /v1/aliases/{name}": Kind.OBJECT,
    "DELETE /v1/aliases/{name}": Kind.OBJECT,
    "POST /v1/rules": Kind.CREATE,
    "GET /v1/rules": Kind.LIST,
    "GET /v1/rules/{rule_id}": Kind.OBJECT,
    "DELETE /v1/rules/{rule_id}": Kind.OBJECT,
    "GET /v1/preferences": Kind.LIST,
    "PUT /v1/preferences/tenant": Kind.OWN,
    "DELETE /v1/preferences/tenant": Kind.OWN,
    "PUT /v1/preferences/users/{user_id}": Kind.OWN,
    "DELETE /v1/preferences/users/{user_id}": Kind.OWN,
    # budgets
    "POST /v1/budgets": Kind.CREATE,
    "GET /v1/budgets": Kind.LIST,
    "GET /v1/budgets/{budget_id}": Kind.OBJECT,
    "PATCH /v1/budgets/{budget_id}": Kind.OBJECT,
    "DELETE /v1/budgets/{budget_id}": Kind.OBJECT,
    "POST /v1/budgets/{budget_id}/reset": Kind.OBJECT,
    # prompts
    "POST /v1/prompts": Kind.CREATE,
    "GET /v1/prompts": Kind.LIST,
    "GET /v1/prompts/{name}": Kind.OBJECT,
    "DELETE /v1/prompts/{name}": Kind.OBJECT,
    "POST /v1/prompts/{name}/versions": Kind.OBJECT,
    "GET /v1/prompts/{name}/versions": Kind.OBJECT,
    "GET /v1/prompts/{name}/versions/{version}": Kind.OBJECT,
    "PUT /v1/prompts/{name}/labels/{label}": Kind.OBJECT,
    "DELETE /v1/prompts/{name}/labels/{label}": Kind.OBJECT,
    "GET /v1/prompts/{name}/labels/{label}/history": Kind.OBJECT,
    "POST /v1/prompts/{name}/render": Kind.OBJECT,
    "GET /v1/prompts/{name}/usage": Kind.OBJECT,
    # usage and traces
    "GET /v1/usage": Kind.LIST,
    "GET /v1/traces": Kind.LIST,
    "GET /v1/traces/{call_id}": Kind.OBJECT,
}
"""Every `/v1` route of the app, by what it is (HEAD and OPTIONS aside)."""

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True)
class Gate:
    method: str
    path: str
    capabilities: tuple[str, ...]
    authenticated: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def url(self, ids: Mapping[str, str]) -> str:
        values = path_ids(self.path, ids)
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)


def _require_closure(dep: Dependant) -> tuple[str, ...] | None:
    """The capabilities of a `require(...)` dependency, None for anything else."""
    call = dep.call
    if getattr(call, "__module__", None) != kit_fastapi.__name__:
        return None
    if getattr(call, "__qualname__", "") != "require.<locals>.dependency":
        return None
    assert call is not None
    return tuple(inspect.getclosurevars(call).nonlocals["capabilities"])


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def gates(app: FastAPI) -> list[Gate]:
    """Every method+path of the app (HEAD and OPTIONS aside), with its gate."""
    out: list[Gate] = []
    principals = {kit_fastapi.current_principal, kit_fastapi._platform_principal}
    # the walk FastAPI's OpenAPI export makes: included routers keep their own prefixes
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        path = context.path
        if path is None:
            continue
        caps: list[str] = []
        authenticated = False
        if isinstance(dependant, Dependant):
            for dep in _walk(dependant):
                if dep.call is None:
                    continue
                found = _require_closure(dep)
                if found is not None:
                    caps.extend(found)
                    authenticated = True
                elif dep.call in principals:
                    authenticated = True
        for method in sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"}):
            out.append(Gate(method, path, tuple(dict.fromkeys(caps)), authenticated))
    return out


def unguarded(app: FastAPI) -> list[str]:
    """Routes with no principal dependency that `PUBLIC` does not explain.

    Also catches a gate FastAPI never saw: `Depends(require(...))` inside a string
    annotation that names a local variable turns the principal into a query parameter and
    leaves the route open.
    """
    return [g.name for g in gates(app) if not g.authenticated and g.name not in PUBLIC]


def api_gates(app: FastAPI) -> list[Gate]:
    """The `/v1` routes: what the matrix calls."""
    return [g for g in gates(app) if g.path.startswith("/v1")]


# --- path ids ---------------------------------------------------------------------------

_SEGMENT_KEYS: dict[str, str] = {
    "providers": "provider_id",
    "models": "model_id",
    "aliases": "alias_name",
    "rules": "rule_id",
    "users": "user_id",
    "budgets": "budget_id",
    "prompts": "prompt_name",
    "versions": "version",
    "labels": "label",
    "traces": "call_id",
}


def path_ids(path: str, known: Mapping[str, str]) -> dict[str, str]:
    """A value for every path parameter of `path`, by the collection segment in front of it
    (`/aliases/{name}` -> alias_name, `/prompts/{name}` -> prompt_name), else by its own
    name, else a fresh UUID."""
    segments = path.strip("/").split("/")
    ids: dict[str, str] = {}
    for i, seg in enumerate(segments):
        match = _PARAM.fullmatch(seg)
        if match is None:
            continue
        name = match.group(1)
        key = _SEGMENT_KEYS.get(segments[i - 1] if i else "", name)
        value = known.get(key, known.get(name))
        ids[name] = value if value is not None else str(uuid.uuid4())
    return ids


# --- request bodies ---------------------------------------------------------------------


def bodies(ids: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """A valid body for each route that takes one, naming the objects in `ids`: with it the
    request reaches the handler, so the answer is about whose object it is, not about
    validation. Fresh names on every call."""
    tag = uuid.uuid4().hex[:10]
    model = ids.get("model_name", "local-echo")
    messages = [{"role": "user", "content": "Hello {{ who }}"}]
    return {
        "POST /v1/chat/completions": {
            "model": model,
            "messages": [{"role": "user", "content": "x"}],
        },
        "POST /v1/embeddings": {"model": model, "input": "x"},
        "POST /v1/providers": {"name": f"p-{tag}", "kind": "local", "base_url": None},
        "PATCH /v1/providers/{provider_id}": {"name": f"p-{tag}", "enabled": False},
        "POST /v1/providers/{provider_id}/models": {
            "name": f"m-{tag}",
            "upstream": "echo",
            "context_window": 1000,
        },
        "PATCH /v1/providers/{provider_id}/models/{model_id}": {"context_window": 999},
        "POST /v1/providers/{provider_id}/models/{model_id}/prices": {
            "input": "9.00",
            "output": "9.00",
        },
        "POST /v1/aliases": {"name": f"a-{tag}", "targets": [{"model": model}]},
        "PUT /v1/aliases/{name}": {"targets": [{"model": model}], "description": tag},
        "POST /v1/rules": {
            "effect": "forbid",
            "model": ids.get("rule_pattern", "x*"),
            "subject_kind": "tenant",
        },
        "PUT /v1/preferences/tenant": {"default_model": model},
        "PUT /v1/preferences/users/{user_id}": {"default_model": model},
        "POST /v1/budgets": {
            "scope": "user",
            "scope_id": str(uuid.uuid4()),
            "period": "day",
            "limit_tokens": 5,
            "on_exhaust": "downgrade",
            "downgrade_to": model,
        },
        "PATCH /v1/budgets/{budget_id}": {"limit_tokens": 1},
        # a fresh name: a prompt of B's named as A's would answer the routes after it
        "POST /v1/prompts": {"name": f"pr-{tag}", "messages": messages, "model": model},
        "POST /v1/prompts/{name}/versions": {"messages": messages, "labels": ["production"]},
        "PUT /v1/prompts/{name}/labels/{label}": {"version": 1},
        "POST /v1/prompts/{name}/render": {"variables": {"who": "b"}},
    }


def body_for(route: str, ids: Mapping[str, str]) -> dict[str, Any] | None:
    """The body for `route` ("METHOD /path"), {} for a write without one listed, None for
    reads and deletes."""
    known = bodies(ids)
    if route in known:
        return known[route]
    return {} if route.split(" ")[0] in ("POST", "PUT", "PATCH") else None


# the If-Match each object route needs, by the path segment naming the object it changes
_ETAG_KEYS = {
    "providers": "provider_id",
    "models": "model_id",
    "aliases": "alias_name",
    "budgets": "budget_id",
    "prompts": "prompt_name",
    "tenant": "preference",
}


def if_match(gate: Gate, etags: Mapping[str, str]) -> dict[str, str]:
    """An If-Match naming the current version of the object `gate` changes (another
    tenant's, in the matrix): the precondition then holds, and the lookup decides."""
    if gate.method not in ("PUT", "PATCH", "DELETE", "POST"):
        return {}
    segments = [s for s in gate.path.strip("/").split("/") if not s.startswith("{")]
    for seg in reversed(segments):
        key = _ETAG_KEYS.get(seg)
        if key is not None and key in etags:
            return {"If-Match": etags[key]}
    return {}
