"""Authorization at run time: per-tenant snapshot cache, capabilities of a principal."""

from __future__ import annotations

from agentsuite_identity.settings import IdentitySettings


class Access:
    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
