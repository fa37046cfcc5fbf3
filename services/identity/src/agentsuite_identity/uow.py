"""identity's unit of work: the kit's, plus one repository per aggregate."""

from __future__ import annotations

from agentsuite_identity.repositories.api_keys import ApiKeys
from agentsuite_identity.repositories.authz import Assignments, Decisions, Policies, Roles
from agentsuite_identity.repositories.credentials import (
    LoginThrottle,
    RefreshTokens,
    ServiceAccounts,
    SigningKeys,
)
from agentsuite_identity.repositories.directory import Invitations, Orgs, Tenants, Users
from agentsuite_identity.repositories.revocations import Revocations
from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection


class IdentityUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.tenants = Tenants(session)
        self.users = Users(session)
        self.orgs = Orgs(session)
        self.invitations = Invitations(session)
        self.service_accounts = ServiceAccounts(session)
        self.refresh_tokens = RefreshTokens(session)
        self.signing_keys = SigningKeys(session)
        self.login_throttle = LoginThrottle(session)
        self.roles = Roles(session)
        self.assignments = Assignments(session)
        self.policies = Policies(session)
        self.decisions = Decisions(session)
        self.api_keys = ApiKeys(session)
        self.revocations = Revocations(session)
