"""A tenant's regular expressions never hang a worker: a pattern that backtracks
exponentially is refused where a schema is saved (tools, templates), and validating against
one stored before that rule (or a long string against any pattern) still answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_templates import PHASES
from tests.integration.catalog.tools_support import register, tool_body

CATASTROPHIC = ["^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "(\\w+\\s?)*$", "^(a*)*b$", "^([a-z]+\\d*)+$"]
EVIL = "a" * 64 + "!"


def schema(pattern: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"q": {"type": "string", "pattern": pattern}},
        "patternProperties": {"^x-": {"type": "string"}},
    }


@pytest.mark.parametrize("pattern", CATASTROPHIC)
async def test_a_backtracking_pattern_is_refused_when_a_tool_is_saved(
    service: Service, pattern: str
) -> None:
    tenant = uuid4()
    r = await service.client.post(
        "/v1/tools", json=tool_body("redos", input_schema=schema(pattern)), headers=auth(tenant)
    )
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["field"]) == ("pattern_unsafe", "input_schema")
    as_key = {"type": "object", "patternProperties": {pattern: {}}}
    r = await service.client.post(
        "/v1/tools", json=tool_body("redos", output_schema=as_key), headers=auth(tenant)
    )
    assert (r.status_code, r.json()["field"]) == (422, "output_schema"), r.text
    body = {"key": "t", "name": "T", "phases": PHASES, "parameters_schema": schema(pattern)}
    r = await service.client.post("/v1/templates", json=body, headers=auth(tenant))
    assert (r.status_code, r.json()["code"]) == (422, "pattern_unsafe"), r.text


async def test_everyday_patterns_are_accepted(service: Service) -> None:
    tenant = uuid4()
    for i, pattern in enumerate(
        [
            "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
            "^\\d{4}-\\d{2}-\\d{2}$",
            "^(\\d{1,3}\\.){3}\\d{1,3}$",
            "^[A-Z]{2}(-[A-Z0-9]+)*$",
            "^(https?|ftp)://[^\\s]+$",
            "^([a-z]|-)+$",
        ]
    ):
        made = await register(service, tenant, f"ok{i}", input_schema=schema(pattern))
        assert made["spec"]["input_schema"]["properties"]["q"]["pattern"] == pattern


async def test_validating_against_a_stored_backtracking_pattern_ends(service: Service) -> None:
    """A schema saved before the rule existed (written here as the table owner)."""
    tenant = uuid4()
    tool = await register(service, tenant, "stored")
    version_id = UUID(tool["id"])
    stored = {
        "type": "object",
        "properties": {
            "q": {"type": "string", "pattern": "^(a+)+$"},
            "r": {"type": "string", "pattern": "^[a-z]+$"},
        },
    }
    spec = tool["spec"] | {"input_schema": stored}
    await service.owner_sql(
        "UPDATE tool_versions SET spec = CAST(:spec AS jsonb) WHERE id = :id",
        spec=json.dumps(spec),
        id=version_id,
    )
    url = f"/v1/tools/{tool['tool_id']}/versions/1.0.0/validate"

    async def check(value: dict[str, Any]) -> dict[str, Any]:
        # a hang guard only (the loop is free again once the check returns); no timing
        answer = await asyncio.wait_for(
            service.client.post(url, json={"input": value}, headers=auth(tenant)), 240
        )
        assert answer.status_code == 200, answer.text
        verdict: dict[str, Any] = answer.json()
        return verdict

    evil = await check({"q": EVIL})
    assert evil["valid"] is False
    assert "may backtrack" in evil["errors"][0]["message"]
    assert await check({"r": "a" * 900}) == {"valid": True, "errors": []}
    assert (await check({"r": "a" * 900 + "1"}))["valid"] is False
    long = await check({"r": "a" * 5_000})
    assert long["valid"] is False
    assert "not checked" in long["errors"][0]["message"]
