"""Authorization properties, over random snapshots and requests (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_identity.domain import capabilities as catalogue
from agentsuite_identity.domain.authz import Assignment, Policy, Request, Role, Snapshot, replay

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACTIONS = ["plans:read", "plans:write", "plans:approve", "executions:start", "users:read"]
PATTERNS = [*ACTIONS, "plans:*", "executions:*", "*"]
SUBJECTS = ["u1", "u2", "u3"]
ORGS = ["o1", "o2"]
TYPES = ["plan", "tool"]
IDS = ["p1", "p2", "t1"]

conditions = st.sampled_from(
    [
        {},
        {"resource.status": "final"},
        {"resource.status": {"$in": ["draft", "final"]}},
        {"resource.cost": {"$gt": 50}},
        {"$or": [{"subject.team": "a"}, {"context.channel": {"$exists": True}}]},
        {"$not": {"resource.status": "draft"}},
    ]
)


@st.composite
def policies(draw: Any, effect: str | None = None) -> Policy:
    n = draw(st.integers(0, 10_000))
    return Policy(
        policy_id=f"pol-{n}",
        name=f"pol-{n}",
        effect=effect or draw(st.sampled_from(["allow", "deny"])),
        actions=tuple(draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2))),
        resource_type=draw(st.sampled_from(["*", "plan", "tool", "pl*"])),
        resources=tuple(draw(st.lists(st.sampled_from(["plan:*", "tool:t?", "*:p1"]), max_size=2))),
        condition=draw(conditions),
        priority=draw(st.integers(-10, 10)),
        enabled=draw(st.booleans()),
    )


@st.composite
def assignments(draw: Any) -> Assignment:
    scope = draw(st.sampled_from(["tenant", "org", "resource"]))
    return Assignment(
        assignment_id=f"a-{draw(st.integers(0, 10_000))}",
        role_id=draw(st.sampled_from(["r1", "r2", "r3"])),
        principal_id=draw(st.sampled_from(SUBJECTS)),
        scope=scope,
        org_id=draw(st.sampled_from(ORGS)) if scope == "org" else None,
        resource_type=draw(st.sampled_from(TYPES)) if scope == "resource" else None,
        resource_id=draw(st.sampled_from(IDS)) if scope == "resource" else None,
        expires_at=draw(st.sampled_from([None, NOW - timedelta(1), NOW + timedelta(1)])),
    )


@st.composite
def snapshots(draw: Any) -> Snapshot:
    roles = [
        Role(rid, rid, tuple(draw(st.lists(st.sampled_from(PATTERNS), max_size=3))))
        for rid in ("r1", "r2", "r3")
    ]
    members = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(ORGS)),
            st.sampled_from(["owner", "admin", "member"]),
            max_size=3,
        )
    )
    return Snapshot(
        roles,
        draw(st.lists(assignments(), max_size=6)),
        members,
        draw(st.lists(policies(), max_size=6, unique_by=lambda p: p.policy_id)),
    )


@st.composite
def requests(draw: Any) -> Request:
    return Request(
        subject_id=draw(st.sampled_from(SUBJECTS)),
        action=draw(st.sampled_from(ACTIONS)),
        resource_type=draw(st.sampled_from(TYPES)),
        resource_id=draw(st.sampled_from([None, *IDS])),
        org_id=draw(st.sampled_from([None, *ORGS])),
        subject_attributes={"team": draw(st.sampled_from(["a", "b"]))},
        resource_attributes={
            "status": draw(st.sampled_from(["draft", "final"])),
            "cost": draw(st.integers(0, 100)),
        },
        context=draw(st.sampled_from([{}, {"channel": "api"}])),
    )


@settings(max_examples=150, deadline=None)
@given(snapshots(), requests(), policies(effect="deny"))
def test_deny_always_wins(snapshot: Snapshot, request: Request, deny: Policy) -> None:
    """Adding an enabled deny policy that matches the request makes the answer deny,
    whatever the priorities and whatever else grants it."""
    matching = Policy(
        policy_id="deny-new",
        name="deny-new",
        effect="deny",
        actions=(request.action,) if deny.actions == ("*",) else ("*", *deny.actions),
        resource_type=request.resource_type,
        resources=(),
        condition=deny.condition,
        priority=deny.priority,
        enabled=True,
    )
    after = snapshot.with_policies([*snapshot.policy_list, matching])
    decision = after.decide(request, NOW)
    held = _condition_holds(after, request, "deny-new")
    if held:
        assert not decision.allowed
        assert decision.reason == "deny_policy"
    else:
        # a deny whose condition fails changes nothing
        assert decision.allowed == snapshot.decide(request, NOW).allowed


def _condition_holds(snapshot: Snapshot, request: Request, policy_id: str) -> bool:
    env = request.env()
    compiled = next(c for c in snapshot.policies if c.policy.policy_id == policy_id)
    return all(c.test(env) for c in compiled.clauses)


@settings(max_examples=150, deadline=None)
@given(snapshots(), requests())
def test_never_granted_is_never_allowed(snapshot: Snapshot, request: Request) -> None:
    """If no role pattern the subject holds in any scope, no standing, and no enabled allow
    policy names the action, the answer is deny."""
    role_patterns = [
        p
        for grants in snapshot.grants.get(request.subject_id, [])
        for p in snapshot.roles[grants.role_id].capabilities
    ]
    standing_patterns = [
        p
        for (subject, _), standing in snapshot.members.items()
        if subject == request.subject_id
        for p in catalogue.SYSTEM_ROLES[standing]
    ]
    allow_patterns = [
        a for c in snapshot.policies if c.policy.effect == "allow" for a in c.policy.actions
    ]
    granted = any(
        catalogue.matches(p, request.action)
        for p in (*role_patterns, *standing_patterns, *allow_patterns)
    )
    decision = snapshot.decide(request, NOW)
    if not granted:
        assert not decision.allowed
    if decision.allowed:
        assert decision.reason in ("role_grant", "allow_policy")
        assert decision.explanation["roles"] or any(
            p["effect"] == "allow" for p in decision.explanation["policies"]
        )


@settings(max_examples=100, deadline=None)
@given(snapshots(), requests())
def test_explanation_agrees_with_the_answer(snapshot: Snapshot, request: Request) -> None:
    decision = snapshot.decide(request, NOW)
    denies = [p for p in decision.explanation["policies"] if p["effect"] == "deny"]
    assert (decision.reason == "deny_policy") == bool(denies)
    for entry in decision.explanation["policies"]:
        assert all(c["held"] for c in entry["clauses"])
    for entry in decision.explanation["unmet"]:
        assert not all(c["held"] for c in entry["clauses"])
    priorities = [p["priority"] for p in decision.explanation["policies"]]
    assert priorities == sorted(priorities, reverse=True)


@st.composite
def changes(draw: Any, current: list[Policy]) -> list[Policy]:
    """The policy set after a proposed create, update or delete of one policy."""
    ops = ["create", "update", "delete"] if current else ["create"]
    op = draw(st.sampled_from(ops))
    if op == "create":
        return [*current, draw(policies())]
    target = draw(st.sampled_from(current))
    others = [p for p in current if p.policy_id != target.policy_id]
    if op == "delete":
        return others
    changed = draw(policies())
    return [*others, Policy(**{**changed.__dict__, "policy_id": target.policy_id})]


@settings(max_examples=150, deadline=None)
@given(st.data(), snapshots(), st.lists(requests(), min_size=1, max_size=12))
def test_dry_run_equals_what_saving_the_change_produces(
    data: st.DataObject, before: Snapshot, asked: list[Request]
) -> None:
    """Dry-run answers with `before.with_policies(proposed)`; after saving, identity loads
    a fresh snapshot of the stored rows. Both must flip exactly the same decisions."""
    proposed = data.draw(changes(list(before.policy_list)))
    recorded = [(f"d{i}", r) for i, r in enumerate(asked)]
    _, flips = replay(recorded, before, before.with_policies(proposed), NOW)

    grants = [a for group in before.grants.values() for a in group]
    saved = Snapshot(before.roles.values(), grants, before.members, proposed)
    expected = {
        did: saved.decide(r, NOW)
        for did, r in recorded
        if before.decide(r, NOW).allowed != saved.decide(r, NOW).allowed
    }
    assert {f.decision_id for f in flips} == set(expected)
    for f in flips:
        assert (f.after.allowed, f.after.reason) == (
            expected[f.decision_id].allowed,
            expected[f.decision_id].reason,
        )
