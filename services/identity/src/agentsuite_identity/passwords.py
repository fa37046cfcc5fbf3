"""Password hashing (argon2id). Owned by the credentials area."""

from __future__ import annotations

from agentsuite_identity.settings import IdentitySettings


class Passwords:
    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
