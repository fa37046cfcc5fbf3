"""Password hashing with argon2id (argon2-cffi), off the event loop.

`verify` also tells when the stored hash was made with weaker parameters than today's, so
login rehashes it; `waste` spends the same time for an unknown account, so the answer's
timing does not tell whether the account exists.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from agentsuite_identity.settings import IdentitySettings


class Passwords:
    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
        # a real hash of nothing anyone knows: verifying against it costs what a real one does
        self._decoy = self._hasher.hash("decoy-password-that-never-matches")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        """(matches, new hash if the stored one should be replaced)."""
        if stored is None:
            await self.waste(password)
            return False, None
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> tuple[bool, str | None]:
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, None
        if self._hasher.check_needs_rehash(stored):
            return True, self._hasher.hash(password)
        return True, None

    async def waste(self, password: str) -> None:
        """Spend a verification's time and memory for an account that does not exist."""
        await asyncio.to_thread(self._verify, self._decoy, password)
