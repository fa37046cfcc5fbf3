"""Pure authorization: conditions, evaluation, explanations, write-time validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentsuite_identity.domain.authz import (
    Assignment,
    Policy,
    Request,
    Role,
    Snapshot,
    glob,
    replay,
    validate_policy,
    validate_role,
)
from agentsuite_identity.domain.conditions import compile_condition, validate
from agentsuite_identity.domain.errors import Invalid

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _req(action: str = "plans:approve", **kw: Any) -> Request:
    base: dict[str, Any] = {"subject_id": "u1", "action": action, "resource_type": "plan"}
    base.update(kw)
    return Request(**base)


def _holds(condition: dict[str, Any], request: Request) -> bool:
    validate(condition)
    return compile_condition(condition)(request.env())


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"resource.status": "draft"}, True),
        ({"resource.status": {"$eq": "final"}}, False),
        ({"resource.status": {"$ne": "final"}}, True),
        ({"resource.status": {"$in": ["draft", "x"]}}, True),
        ({"resource.status": {"$nin": ["draft"]}}, False),
        ({"resource.cost": {"$gt": 10, "$lte": 20}}, True),
        ({"resource.cost": {"$gte": 21}}, False),
        ({"resource.cost": {"$lt": "a"}}, False),
        ({"subject.tags": {"$contains": "eu"}}, True),
        ({"subject.email": {"$endsWith": "@corp.com", "$startsWith": "ann"}}, True),
        ({"user.email": {"$contains": "corp"}}, True),
        ({"context.ip": {"$exists": True}}, False),
        ({"context.ip": {"$exists": False}}, True),
        ({"context.ip": {"$ne": "1.2.3.4"}}, True),
        ({"$or": [{"resource.status": "final"}, {"subject.id": "u1"}]}, True),
        ({"$and": [{"resource.status": "draft"}, {"subject.kind": "service"}]}, False),
        ({"$not": {"resource.status": "final"}}, True),
        ({"resource.status": "draft", "resource.cost": 99}, False),
        ({"resource.owner.team": "a"}, True),
        ({"resource.id": "p1", "resource.org_id": "o1", "resource.type": "plan"}, True),
    ],
)
def test_operators(condition: dict[str, Any], expected: bool) -> None:
    request = _req(
        resource_id="p1",
        org_id="o1",
        resource_attributes={"status": "draft", "cost": 15, "owner": {"team": "a"}},
        subject_attributes={"tags": ["eu", "ops"], "email": "ann@corp.com"},
    )
    assert _holds(condition, request) is expected


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"resource.status": {"$regex": "^a"}}, "condition.resource.status.$regex"),
        ({"$xor": []}, "condition.$xor"),
        ({"owner": "x"}, "condition.owner"),
        ({"$or": {"a.b": 1}}, "condition.$or"),
        ({"resource.tags": {"$in": "x"}}, "condition.resource.tags.$in"),
        ({"$and": [{"resource.a": {"$exists": 1}}]}, "condition.$and[0].resource.a.$exists"),
    ],
)
def test_unknown_operators_and_bad_shapes_name_the_path(
    condition: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as caught:
        validate(condition)
    assert caught.value.field == field


def test_depth_and_size_limits() -> None:
    deep: dict[str, Any] = {"resource.a": 1}
    for _ in range(8):
        deep = {"$not": deep}
    with pytest.raises(Invalid, match="nests"):
        validate(deep)
    ok: dict[str, Any] = {"resource.a": 1}
    for _ in range(6):
        ok = {"$not": ok}
    validate(ok)
    with pytest.raises(Invalid, match="nodes"):
        validate({"$or": [{f"resource.a{i}": i} for i in range(101)]})


def test_glob_is_linear_and_correct() -> None:
    assert glob("plan:*", "plan:p1")
    assert glob("*:p?", "plan:p1")
    assert not glob("plan:*", "tool:p1")
    assert glob("a*b*c", "axxbyyc")
    assert not glob("a*b*c", "axxbyy")
    # a backtracking glob takes longer than the universe on this (the test's timeout says
    # so); a linear one answers at once
    hostile = "*a" * 50 + "b"
    assert not glob(hostile, "a" * 5000)


def _snapshot(policies: list[Policy], **kw: Any) -> Snapshot:
    roles = [Role("r-viewer", "viewer", ("plans:read",)), Role("r-app", "approver", ("plans:*",))]
    grants = kw.pop("grants", [Assignment("a1", "r-viewer", "u1", "tenant")])
    return Snapshot(roles, grants, kw.pop("members", {}), policies, **kw)


def test_role_grant_explained() -> None:
    decision = _snapshot([]).decide(_req("plans:read"), NOW)
    assert decision.allowed
    assert decision.reason == "role_grant"
    assert decision.explanation["roles"] == [
        {
            "role_id": "r-viewer",
            "name": "viewer",
            "scope": "tenant",
            "pattern": "plans:read",
            "assignment_id": "a1",
        }
    ]
    refused = _snapshot([]).decide(_req("plans:approve"), NOW)
    assert (refused.allowed, refused.reason) == (False, "no_grant")


def test_scopes_and_expiry() -> None:
    grants = [
        Assignment("a1", "r-app", "u1", "org", org_id="o1"),
        Assignment("a2", "r-app", "u1", "resource", resource_type="plan", resource_id="p9"),
        Assignment("a3", "r-app", "u2", "tenant", expires_at=NOW - timedelta(seconds=1)),
    ]
    snap = _snapshot([], grants=grants, members={("u3", "o1"): "admin"})
    assert snap.decide(_req(org_id="o1"), NOW).allowed
    assert not snap.decide(_req(org_id="o2"), NOW).allowed
    assert snap.decide(_req(resource_id="p9"), NOW).allowed
    assert not snap.decide(_req(resource_id="p8"), NOW).allowed
    assert not snap.decide(_req(subject_id="u2"), NOW).allowed
    member = snap.decide(_req("plans:write", subject_id="u3", org_id="o1"), NOW)
    assert member.allowed
    assert member.explanation["roles"][0]["via"] == "membership"
    assert not snap.decide(_req("plans:write", subject_id="u3", org_id="o2"), NOW).allowed


def test_deny_wins_whatever_the_priority_and_explains() -> None:
    allow = Policy("p-allow", "allow-all", "allow", ("*",), priority=100)
    deny = Policy(
        "p-deny",
        "no-final",
        "deny",
        ("plans:*",),
        resource_type="plan",
        resources=("plan:p*",),
        condition={"resource.status": "final"},
        priority=-5,
    )
    snap = _snapshot([allow, deny])
    final = _req(resource_id="p1", resource_attributes={"status": "final"})
    decision = snap.decide(final, NOW)
    assert (decision.allowed, decision.reason) == (False, "deny_policy")
    names = [p["name"] for p in decision.explanation["policies"]]
    assert names == ["allow-all", "no-final"]  # ordered by priority
    assert decision.explanation["policies"][1]["clauses"] == [
        {"clause": 'resource.status "final"', "held": True}
    ]
    draft = snap.decide(_req(resource_id="p1", resource_attributes={"status": "draft"}), NOW)
    assert (draft.allowed, draft.reason) == (True, "allow_policy")
    assert draft.explanation["unmet"][0]["name"] == "no-final"
    assert "resource.status" in draft.explanation["unmet"][0]["why"]
    other = snap.decide(_req(resource_id="x1", resource_attributes={"status": "final"}), NOW)
    assert other.allowed  # the deny's resources do not cover x1
    disabled = _snapshot([allow, Policy("d", "d", "deny", ("*",), enabled=False)])
    assert disabled.decide(_req(), NOW).allowed


def test_inactive_tenant_denies() -> None:
    decision = _snapshot([], active=False).decide(_req("plans:read"), NOW)
    assert (decision.allowed, decision.reason) == (False, "tenant_inactive")


def test_replay_reports_flips() -> None:
    before = _snapshot([])
    after = before.with_policies([Policy("p", "deny-read", "deny", ("plans:read",))])
    requests = [("d1", _req("plans:read")), ("d2", _req("plans:approve"))]
    count, flips = replay(requests, before, after, NOW)
    assert count == 2
    assert [f.decision_id for f in flips] == ["d1"]
    assert flips[0].before.allowed
    assert flips[0].after.reason == "deny_policy"


def test_request_round_trips_json() -> None:
    request = _req(resource_id="p1", org_id="o1", context={"ip": "1.1.1.1"})
    assert Request.from_json(request.to_json()) == request


def test_write_validation_names_fields() -> None:
    with pytest.raises(Invalid) as caught:
        validate_role("r", "", ["plans:read", "plans:fly"])
    assert caught.value.field == "capabilities[1]"
    with pytest.raises(Invalid) as caught:
        validate_role("x" * 101, "", [])
    assert caught.value.field == "name"
    with pytest.raises(Invalid) as caught:
        validate_policy(Policy("p", "p", "allow", ("nope:x",)), "")
    assert caught.value.field == "actions[0]"
    with pytest.raises(Invalid) as caught:
        validate_policy(Policy("p", "p", "maybe", ("*",)), "")
    assert caught.value.field == "effect"
    with pytest.raises(Invalid) as caught:
        validate_policy(Policy("p", "p", "allow", ("*",), condition={"a.b": 1}), "")
    assert caught.value.field == "condition.a.b"
    with pytest.raises(Invalid) as caught:
        validate_policy(Policy("p", "p", "allow", ("*",)), "d" * 1001)
    assert caught.value.field == "description"
