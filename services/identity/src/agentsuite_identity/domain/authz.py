"""RBAC + ABAC decisions, pure: a compiled tenant snapshot answers requests.

Deny always wins: any enabled deny policy that matches (action, resource, condition)
denies, whatever the priorities (they only order the explanation). Otherwise a role
grant in scope or a matching allow policy allows; otherwise the answer is `no_grant`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentsuite_identity.domain import capabilities as catalogue
from agentsuite_identity.domain.conditions import Clause, compile_clauses, validate
from agentsuite_identity.domain.errors import Invalid

MAX_NAME = 100
MAX_DESCRIPTION = 1000
MAX_LIST = 200


@dataclass(frozen=True)
class Request:
    subject_id: str
    action: str
    resource_type: str
    resource_id: str | None = None
    org_id: str | None = None
    subject_kind: str = "user"
    subject_attributes: Mapping[str, Any] = field(default_factory=dict)
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)

    def env(self) -> dict[str, Any]:
        """What conditions read; the named fields win over same-named attributes."""
        subject = {
            **self.subject_attributes,
            "id": self.subject_id,
            "kind": self.subject_kind,
            "attributes": self.subject_attributes,
        }
        resource = {
            **self.resource_attributes,
            "type": self.resource_type,
            "id": self.resource_id,
            "org_id": self.org_id,
            "attributes": self.resource_attributes,
        }
        return {"subject": subject, "resource": resource, "context": self.context}

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": {
                "id": self.subject_id,
                "kind": self.subject_kind,
                "attributes": dict(self.subject_attributes),
            },
            "action": self.action,
            "resource": {
                "type": self.resource_type,
                "id": self.resource_id,
                "org_id": self.org_id,
                "attributes": dict(self.resource_attributes),
            },
            "context": dict(self.context),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Request:
        subject, resource = data.get("subject") or {}, data.get("resource") or {}
        org = resource.get("org_id")
        rid = resource.get("id")
        return Request(
            subject_id=str(subject.get("id")),
            subject_kind=str(subject.get("kind") or "user"),
            subject_attributes=dict(subject.get("attributes") or {}),
            action=str(data.get("action")),
            resource_type=str(resource.get("type") or ""),
            resource_id=None if rid is None else str(rid),
            org_id=None if org is None else str(org),
            resource_attributes=dict(resource.get("attributes") or {}),
            context=dict(data.get("context") or {}),
        )


@dataclass(frozen=True)
class Role:
    role_id: str
    name: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    assignment_id: str
    role_id: str
    principal_id: str
    scope: str  # tenant | org | resource
    org_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    expires_at: datetime | None = None

    def applies(self, request: Request, now: datetime) -> bool:
        if self.expires_at is not None and self.expires_at <= now:
            return False
        if self.scope == "tenant":
            return True
        if self.scope == "org":
            return self.org_id is not None and self.org_id == request.org_id
        return (self.resource_type, self.resource_id) == (
            request.resource_type,
            request.resource_id,
        )


@dataclass(frozen=True)
class Policy:
    policy_id: str
    name: str
    effect: str  # allow | deny
    actions: tuple[str, ...]
    resource_type: str = "*"
    resources: tuple[str, ...] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0
    enabled: bool = True


@dataclass(frozen=True)
class Compiled:
    policy: Policy
    clauses: tuple[Clause, ...]

    def covers(self, request: Request) -> bool:
        """Action and resource match (the condition is judged apart, for the explanation)."""
        p = self.policy
        if not glob(p.resource_type, request.resource_type):
            return False
        if p.resources:
            target = f"{request.resource_type}:{request.resource_id or ''}"
            if not any(glob(pattern, target) for pattern in p.resources):
                return False
        return True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # deny_policy | role_grant | allow_policy | no_grant | tenant_inactive
    explanation: dict[str, Any]


def glob(pattern: str, text: str) -> bool:
    """`*` any run, `?` one character; linear-time two-pointer match, no regex, so no
    catastrophic backtracking on hostile patterns."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


class Snapshot:
    """One tenant's roles, grants, member standings and policies, compiled once."""

    def __init__(
        self,
        roles: Iterable[Role],
        assignments: Iterable[Assignment],
        members: Mapping[tuple[str, str], str],
        policies: Iterable[Policy],
        *,
        active: bool = True,
    ) -> None:
        self.active = active
        self.roles = {r.role_id: r for r in roles}
        self.grants: dict[str, list[Assignment]] = {}
        for a in assignments:
            self.grants.setdefault(a.principal_id, []).append(a)
        self.members = dict(members)
        ordered = sorted(policies, key=lambda p: (-p.priority, p.name))
        self.policies = tuple(
            Compiled(p, compile_clauses(p.condition)) for p in ordered if p.enabled
        )
        self.policy_list = tuple(ordered)
        self._by_action: dict[str, tuple[Compiled, ...]] = {}

    def with_policies(self, policies: Iterable[Policy]) -> Snapshot:
        """The same snapshot with another policy set: what dry-run compares against."""
        members = self.members
        grants = [a for group in self.grants.values() for a in group]
        return Snapshot(self.roles.values(), grants, members, policies, active=self.active)

    def candidates(self, action: str) -> tuple[Compiled, ...]:
        found = self._by_action.get(action)
        if found is None:
            found = tuple(
                c
                for c in self.policies
                if any(catalogue.matches(a, action) for a in c.policy.actions)
            )
            if len(self._by_action) < 4096:  # actions are catalogue names; bound it anyway
                self._by_action[action] = found
        return found

    def decide(self, request: Request, now: datetime) -> Decision:
        if not self.active:
            return Decision(False, "tenant_inactive", {"roles": [], "policies": [], "unmet": []})
        env = request.env()
        matched: list[dict[str, Any]] = []
        unmet: list[dict[str, Any]] = []
        denied = allowed_by_policy = False
        for compiled in self.candidates(request.action):
            if not compiled.covers(request):
                continue
            results = [(c.text, c.test(env)) for c in compiled.clauses]
            entry = _policy_entry(compiled.policy, results)
            if all(held for _, held in results):
                matched.append(entry)
                if compiled.policy.effect == "deny":
                    denied = True
                else:
                    allowed_by_policy = True
            else:
                entry["why"] = "condition not met: " + "; ".join(t for t, h in results if not h)
                unmet.append(entry)
        roles = self._role_grants(request, now)
        explanation = {"roles": roles, "policies": matched, "unmet": unmet}
        if denied:
            return Decision(False, "deny_policy", explanation)
        if roles:
            return Decision(True, "role_grant", explanation)
        if allowed_by_policy:
            return Decision(True, "allow_policy", explanation)
        return Decision(False, "no_grant", explanation)

    def _role_grants(self, request: Request, now: datetime) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for a in self.grants.get(request.subject_id, ()):
            role = self.roles.get(a.role_id)
            if role is None or not a.applies(request, now):
                continue
            pattern = _first_match(role.capabilities, request.action)
            if pattern is not None:
                entry: dict[str, Any] = {
                    "role_id": role.role_id,
                    "name": role.name,
                    "scope": a.scope,
                    "pattern": pattern,
                    "assignment_id": a.assignment_id,
                }
                if a.org_id is not None:
                    entry["org_id"] = a.org_id
                if a.scope == "resource":
                    entry["resource"] = f"{a.resource_type}:{a.resource_id}"
                found.append(entry)
        if request.org_id is not None:
            standing = self.members.get((request.subject_id, request.org_id))
            if standing is not None:
                pattern = _first_match(catalogue.SYSTEM_ROLES.get(standing, ()), request.action)
                if pattern is not None:
                    found.append(
                        {
                            "name": standing,
                            "scope": "org",
                            "org_id": request.org_id,
                            "pattern": pattern,
                            "via": "membership",
                        }
                    )
        return found


def _first_match(patterns: Iterable[str], action: str) -> str | None:
    for pattern in patterns:
        if catalogue.matches(pattern, action):
            return pattern
    return None


def _policy_entry(policy: Policy, results: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "policy_id": policy.policy_id,
        "name": policy.name,
        "effect": policy.effect,
        "priority": policy.priority,
        "clauses": [{"clause": text, "held": held} for text, held in results],
    }


@dataclass(frozen=True)
class Flip:
    decision_id: str
    before: Decision
    after: Decision


def replay(
    requests: Iterable[tuple[str, Request]], before: Snapshot, after: Snapshot, now: datetime
) -> tuple[int, list[Flip]]:
    """How many requests were replayed, and those whose answer differs between snapshots."""
    count, flips = 0, []
    for decision_id, request in requests:
        count += 1
        was, will = before.decide(request, now), after.decide(request, now)
        if was.allowed != will.allowed:
            flips.append(Flip(decision_id, was, will))
    return count, flips


# --- validation at write time --------------------------------------------------------------


def check_text(value: str, field: str, limit: int, *, required: bool = True) -> None:
    if required and not value.strip():
        raise Invalid("invalid", "must not be blank", field=field)
    if len(value) > limit:
        raise Invalid("invalid", f"at most {limit} characters", field=field)


def check_capabilities(patterns: Sequence[str], field: str) -> None:
    if len(patterns) > MAX_LIST:
        raise Invalid("invalid", f"at most {MAX_LIST} entries", field=field)
    for i, pattern in enumerate(patterns):
        if catalogue.unknown([pattern]):
            raise Invalid("invalid", f"unknown capability {pattern!r}", field=f"{field}[{i}]")


def validate_role(name: str, description: str, capabilities: Sequence[str]) -> None:
    check_text(name, "name", MAX_NAME)
    check_text(description, "description", MAX_DESCRIPTION, required=False)
    check_capabilities(capabilities, "capabilities")


def validate_policy(policy: Policy, description: str) -> None:
    check_text(policy.name, "name", MAX_NAME)
    check_text(description, "description", MAX_DESCRIPTION, required=False)
    if policy.effect not in ("allow", "deny"):
        raise Invalid("invalid", "effect is allow or deny", field="effect")
    if not policy.actions:
        raise Invalid("invalid", "at least one action", field="actions")
    check_capabilities(policy.actions, "actions")
    check_text(policy.resource_type, "resource_type", MAX_NAME)
    if len(policy.resources) > MAX_LIST:
        raise Invalid("invalid", f"at most {MAX_LIST} entries", field="resources")
    for i, pattern in enumerate(policy.resources):
        if ":" not in pattern or len(pattern) > 300:
            raise Invalid(
                "invalid",
                "a resource pattern is `type:id` (globs allowed)",
                field=f"resources[{i}]",
            )
    validate(policy.condition, "condition")
