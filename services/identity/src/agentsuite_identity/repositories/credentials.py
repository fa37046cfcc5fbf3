"""SQL of service accounts, refresh tokens, signing keys and the login throttle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update

from agentsuite_identity.repositories.tables import signing_keys
from agentsuite_kit.db import Repository


class ServiceAccounts(Repository):
    pass


class RefreshTokens(Repository):
    pass


# one advisory lock id for "who creates or rotates the signing key": concurrent workers
# starting together must not each make a first key
_KEYS_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))")
_CURRENT = (
    select(signing_keys)
    .where(signing_keys.c.retired_at.is_(None))
    .order_by(signing_keys.c.activated_at.desc())
    .limit(1)
)
_VERIFYING = (
    select(signing_keys.c.kid, signing_keys.c.public_jwk)
    .where(or_(signing_keys.c.verify_until.is_(None), signing_keys.c.verify_until > func.now()))
    .order_by(signing_keys.c.activated_at.desc())
)
_ADD_KEY = insert(signing_keys)


class SigningKeys(Repository):
    async def current(self, *, lock: bool) -> Any:
        if lock:
            await self.session.execute(_KEYS_LOCK)
        return (await self.session.execute(_CURRENT)).first()

    async def add(
        self, kid: str, algorithm: str, public_jwk: dict[str, Any], sealed: bytes
    ) -> None:
        await self.session.execute(
            _ADD_KEY,
            {
                "kid": kid,
                "algorithm": algorithm,
                "public_jwk": public_jwk,
                "private_key": sealed,
                "activated_at": datetime.now(UTC),
            },
        )

    async def retire(self, kid: str, verify_until: datetime) -> None:
        await self.session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(retired_at=func.now(), verify_until=verify_until)
        )

    async def verifying(self) -> list[Any]:
        return list((await self.session.execute(_VERIFYING)).all())


class LoginThrottle(Repository):
    pass
