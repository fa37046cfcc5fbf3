"""A tenant with one of every gateway object, made through the admin API as an operator
would: a provider of kind `local` (answers offline) with a model and two prices, an alias,
a forbid rule, a tenant and a user preference, a budget, a prompt with two versions and a
label, and a few recorded calls (traces and usage).

`populate(gw)` returns the ids (by path-parameter meaning), the names and the ETags;
`snapshot()` reads every row of a tenant as the table owner, for before/after comparisons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.repositories.tables import metadata
from tests.integration.llm_gateway.harness import Gateway, token

Ids = dict[str, str]

CALLS = 3
"""Calls to `local-echo` each populated tenant makes (traces and usage to hide)."""


@dataclass
class Populated:
    tenant_id: UUID
    user_id: UUID
    token: str
    """A user's token with every gateway capability."""
    ids: Ids = field(default_factory=dict)
    """provider_id, model_id, price_id, alias_id, alias_name, rule_id, budget_id, prompt_id,
    prompt_name, label, version, user_id, call_id, and the names (provider_name, model_name)."""
    etags: dict[str, str] = field(default_factory=dict)
    """Current ETag per object key (provider_id, model_id, alias_name, budget_id, prompt_name,
    preference)."""
    call_ids: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Steps that answered other than expected (with the answer)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def secrets(self) -> set[str]:
        """Strings that name this tenant's objects: another tenant never sees any of them."""
        keys = (
            "provider_id",
            "model_id",
            "price_id",
            "alias_id",
            "alias_name",
            "rule_id",
            "budget_id",
            "prompt_id",
            "prompt_name",
            "provider_name",
            "model_name",
            "rule_pattern",
        )
        return {self.ids[k] for k in keys if k in self.ids} | set(self.call_ids)


async def populate(gw: Gateway) -> Populated:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    made = Populated(tenant, user, token(tenant, subject=user))
    tag = uuid.uuid4().hex[:12]
    ids = made.ids
    ids["user_id"] = str(user)

    async def send(
        method: str, path: str, body: Any = None, expect: int = 201, **headers: str
    ) -> dict[str, Any]:
        r = await gw.client.request(method, path, json=body, headers={**made.headers, **headers})
        if r.status_code != expect:
            made.failed.append(f"{method} {path}: {r.status_code} {r.text[:300]}")
            return {}
        return r.json() if r.content else {}

    provider = await send(
        "POST", "/v1/providers", {"name": f"prov-{tag}", "kind": "local", "base_url": None}
    )
    ids["provider_id"] = provider.get("provider_id", str(uuid.uuid4()))
    ids["provider_name"] = f"prov-{tag}"
    model = await send(
        "POST",
        f"/v1/providers/{ids['provider_id']}/models",
        {
            "name": f"model-{tag}",
            "upstream": "echo",
            "context_window": 32_000,
            "capabilities": ["tools", "json"],
            "price": {"input": "1.00", "output": "2.00"},
        },
    )
    ids["model_id"] = model.get("model_id", str(uuid.uuid4()))
    ids["model_name"] = f"model-{tag}"
    price = await send(
        "POST",
        f"/v1/providers/{ids['provider_id']}/models/{ids['model_id']}/prices",
        {"input": "1.50", "output": "3.00"},
    )
    ids["price_id"] = price.get("price_id", str(uuid.uuid4()))
    alias = await send(
        "POST",
        "/v1/aliases",
        {"name": f"alias-{tag}", "targets": [{"model": ids["model_name"], "weight": 1}]},
    )
    ids["alias_id"] = alias.get("alias_id", str(uuid.uuid4()))
    ids["alias_name"] = f"alias-{tag}"
    ids["rule_pattern"] = f"never-{tag}*"
    rule = await send(
        "POST",
        "/v1/rules",
        {
            "effect": "forbid",
            "model": ids["rule_pattern"],
            "subject_kind": "user",
            "subject_id": str(uuid.uuid4()),
            "reason": "populated",
        },
    )
    ids["rule_id"] = rule.get("rule_id", str(uuid.uuid4()))
    await send("PUT", "/v1/preferences/tenant", {"default_model": ids["model_name"]}, 200)
    await send("PUT", f"/v1/preferences/users/{user}", {"default_model": ids["alias_name"]}, 200)
    budget = await send(
        "POST",
        "/v1/budgets",
        {"scope": "tenant", "period": "month", "limit_tokens": 10**12, "limit_cost": "1000000"},
    )
    ids["budget_id"] = budget.get("budget_id", str(uuid.uuid4()))
    messages = [{"role": "user", "content": "Hello {{ who }}"}]
    prompt = await send(
        "POST",
        "/v1/prompts",
        {"name": f"prompt-{tag}", "messages": messages, "model": ids["model_name"]},
    )
    ids["prompt_id"] = prompt.get("prompt_id", str(uuid.uuid4()))
    ids["prompt_name"] = f"prompt-{tag}"
    await send(
        "POST",
        f"/v1/prompts/{ids['prompt_name']}/versions",
        {"messages": [{"role": "user", "content": "Hi {{ who }}!"}], "labels": ["staging"]},
    )
    ids["label"] = "production"
    ids["version"] = "2"
    await send("PUT", f"/v1/prompts/{ids['prompt_name']}/labels/production", {"version": 1}, 200)
    await calls(gw, made)
    await etags(gw, made)
    return made


async def calls(gw: Gateway, made: Populated) -> None:
    """A few calls (the built-in echo, the tenant's model, its prompt), then the recorder
    flushed so their traces and usage are in the database."""
    bodies: list[dict[str, Any]] = [
        {"model": "local-echo", "messages": [{"role": "user", "content": f"hi {i}"}]}
        for i in range(CALLS)
    ]
    bodies.append({"model": made.ids["alias_name"], "messages": [{"role": "user", "content": "a"}]})
    bodies.append({"prompt": {"name": made.ids["prompt_name"], "variables": {"who": "x"}}})
    for body in bodies:
        r = await gw.client.post("/v1/chat/completions", json=body, headers=made.headers)
        if r.status_code != 200:
            made.failed.append(f"chat {body}: {r.status_code} {r.text[:300]}")
    await gw.deps.recorder.flush()
    r = await gw.client.get("/v1/traces", headers=made.headers)
    if r.status_code == 200:
        made.call_ids = [t["call_id"] for t in r.json()["items"]]
    if len(made.call_ids) < len(bodies):
        made.failed.append(f"traces: {r.status_code} {r.text[:300]}")
    made.ids["call_id"] = made.call_ids[0] if made.call_ids else str(uuid.uuid4())


async def etags(gw: Gateway, made: Populated) -> None:
    """Each object's current ETag: a write from elsewhere that sends it gets past If-Match
    and reaches the lookup, so its answer is about whose object it is."""
    ids = made.ids
    paths = {
        "provider_id": f"/v1/providers/{ids['provider_id']}",
        "model_id": f"/v1/providers/{ids['provider_id']}/models/{ids['model_id']}",
        "alias_name": f"/v1/aliases/{ids['alias_name']}",
        "budget_id": f"/v1/budgets/{ids['budget_id']}",
        "prompt_name": f"/v1/prompts/{ids['prompt_name']}",
    }
    for key, path in paths.items():
        r = await gw.client.get(path, headers=made.headers)
        if r.status_code == 200 and "etag" in r.headers:
            made.etags[key] = r.headers["etag"]
        else:
            made.failed.append(f"GET {path}: {r.status_code} {r.text[:200]}")


# --- snapshots --------------------------------------------------------------------------

_KIT_TABLES = frozenset({"outbox", "inbox", "jobs", "idempotency_keys"})
"""Bookkeeping the relay and runners update on their own: not a tenant's objects."""


def tenant_tables() -> list[str]:
    return sorted(
        t.name for t in metadata.tables.values() if "tenant_id" in t.c and t.name not in _KIT_TABLES
    )


async def snapshot(gw: Gateway, tenant: UUID) -> dict[str, list[str]]:
    """Every row of every gateway table that belongs to `tenant`, as sorted text."""
    rows: dict[str, list[str]] = {}
    for table in tenant_tables():
        found = await gw.owner_sql(
            f"SELECT to_jsonb(x)::text FROM {table} x WHERE tenant_id = :t", t=tenant
        )
        rows[table] = sorted(r[0] for r in found)
    return rows
