"""Per-API-key rate limits."""

from __future__ import annotations

from agentsuite_identity.settings import IdentitySettings


class KeyLimiter:
    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
