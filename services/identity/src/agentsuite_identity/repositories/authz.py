"""SQL of roles, role assignments, ABAC policies and recorded decisions."""

from __future__ import annotations

from agentsuite_kit.db import Repository


class Roles(Repository):
    pass


class Assignments(Repository):
    pass


class Policies(Repository):
    pass


class Decisions(Repository):
    pass
