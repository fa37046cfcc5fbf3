"""Authorization at run time: per-tenant snapshot cache, capabilities of a principal."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from uuid import UUID

from agentsuite_identity.changes import Changes, Ticket
from agentsuite_identity.domain.authz import (
    Assignment,
    Decision,
    Policy,
    Request,
    Role,
    Snapshot,
)
from agentsuite_identity.domain.capabilities import SYSTEM_ROLES, within_org
from agentsuite_identity.repositories.authz import Row
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.uow import IdentityUow

_MEMBER = "member:"
_CACHED_TENANTS = 1024
_INACTIVE = Decision(False, "tenant_inactive", {"roles": [], "policies": [], "unmet": []})


def policy_of(row: Row) -> Policy:
    return Policy(
        policy_id=str(row["policy_id"]),
        name=row["name"],
        effect=row["effect"],
        actions=tuple(row["actions"]),
        resource_type=row["resource_type"],
        resources=tuple(row["resources"]),
        condition=dict(row["condition"]),
        priority=int(row["priority"]),
        enabled=bool(row["enabled"]),
    )


async def load_snapshot(uow: IdentityUow) -> Snapshot:
    """Everything the tenant's decisions read, in four queries (a cold cache only)."""
    roles = [
        Role(str(r["role_id"]), r["name"], tuple(r["capabilities"])) for r in await uow.roles.all()
    ]
    grants = [
        Assignment(
            assignment_id=str(a["assignment_id"]),
            role_id=str(a["role_id"]),
            principal_id=str(a["principal_id"]),
            scope=a["scope"],
            org_id=None if a["org_id"] is None else str(a["org_id"]),
            resource_type=a["resource_type"],
            resource_id=a["resource_id"],
            expires_at=a["expires_at"],
        )
        for a in await uow.assignments.live()
    ]
    members = {
        (str(m["user_id"]), str(m["org_id"])): str(m["role"])
        for m in await uow.assignments.members()
    }
    policies = [policy_of(p) for p in await uow.policies.all()]
    return Snapshot(roles, grants, members, policies)


class Access:
    """One per process. Snapshots are keyed by the tenant's `authz_version`, which every
    change to roles, grants, policies or members bumps in its own transaction; a warm
    decision therefore costs one indexed one-row query. A notification for the tenant also
    retires its snapshot, version or not: a change made in the database directly may announce
    itself without bumping the version (README asks it for the notification only)."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        # tenant -> (authz_version, the tenant's `Changes.current` before the read, snapshot)
        self._snapshots: OrderedDict[UUID, tuple[int, Ticket | None, Snapshot]] = OrderedDict()
        # the ticket (changes.py) under which each tenant's snapshot was last confirmed
        self._confirmed: dict[UUID, Ticket] = {}
        # set by the app: tells which tenants moved since a read, without a query
        self.changes: Changes | None = None

    def cached(self, tenant: UUID) -> Snapshot | None:
        """The tenant's snapshot when it is known current without asking the database: it
        was confirmed while this process listened for changes, and none came since."""
        if self.changes is None:
            return None
        if not self.changes.valid(tenant, self._confirmed.get(tenant)):
            return None
        cached = self._snapshots.get(tenant)
        return None if cached is None else cached[2]

    def _confirm(self, tenant: UUID, ticket: Ticket | None) -> None:
        if ticket is not None:
            self._confirmed[tenant] = ticket

    async def capabilities(
        self, uow: IdentityUow, principal_id: UUID, org_id: UUID | None
    ) -> frozenset[str]:
        """The capability patterns `principal_id` holds in the uow's tenant: tenant-wide
        grants, and with `org_id` that org's grants plus the system role of its standing
        there (an org `admin` holds the `admin` role within that org). Expired grants and
        resource-scoped grants (they only apply to one resource) are left out.

        What comes from the org is narrowed by `within_org`: an org owner's `*` must not
        become the tenant's. With `org_id` the tenant-wide grants are narrowed the same way:
        the token is scoped to that org (its `org` claim, which every route honours), and
        administering the tenant (users, roles, policies, service accounts) is outside any
        org's scope, whoever holds it."""
        held: set[str] = set()
        in_org: set[str] = set()
        for pattern, from_org in await uow.roles.capabilities(principal_id, org_id):
            if pattern.startswith(_MEMBER):
                in_org.update(SYSTEM_ROLES.get(pattern[len(_MEMBER) :], ()))
            elif from_org:
                in_org.add(pattern)
            else:
                held.add(pattern)
        if org_id is not None:
            return within_org(held | in_org)
        return frozenset(held | within_org(in_org))

    async def snapshot(self, uow: IdentityUow) -> Snapshot | None:
        """The tenant's compiled snapshot; None when the tenant is missing or not active."""
        tenant = uow.tenant_id
        assert tenant is not None
        # both taken before the reads: a notification during them makes them stale
        ticket = None if self.changes is None else self.changes.ticket(tenant)
        seen = None if self.changes is None else self.changes.current(tenant)
        state = await uow.assignments.state()
        if state is None or state[0] != "active":
            return None
        version = state[1]
        cached = self._snapshots.get(tenant)
        # the same version and no notification since it was read (a reconnect counts as one:
        # notifications may have been lost while the listener was down)
        if cached is not None and cached[0] == version and cached[1] == seen:
            self._snapshots.move_to_end(tenant)
            self._confirm(tenant, ticket)
            return cached[2]
        # read in the same transaction after the version: at least as new as the key, and
        # any later change bumps the version again
        fresh = await load_snapshot(uow)
        self._snapshots[tenant] = (version, seen, fresh)
        self._snapshots.move_to_end(tenant)
        while len(self._snapshots) > _CACHED_TENANTS:
            gone, _ = self._snapshots.popitem(last=False)
            self._confirmed.pop(gone, None)
        self._confirm(tenant, ticket)
        return fresh

    async def authorize(self, uow: IdentityUow, request: Request) -> Decision:
        snapshot = await self.snapshot(uow)
        if snapshot is None:
            return _INACTIVE
        return snapshot.decide(request, datetime.now(UTC))
