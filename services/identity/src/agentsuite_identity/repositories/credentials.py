"""SQL of service accounts, refresh tokens, signing keys and the login throttle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, or_, select, text, tuple_, update

from agentsuite_identity.repositories.tables import service_accounts, signing_keys
from agentsuite_kit.db import Repository

_SA = service_accounts
_SA_PUBLIC = (
    _SA.c.service_account_id,
    _SA.c.tenant_id,
    _SA.c.name,
    _SA.c.kind,
    _SA.c.client_id,
    _SA.c.capabilities,
    _SA.c.status,
    _SA.c.created_at,
    _SA.c.updated_at,
    _SA.c.secret_rotated_at,
    _SA.c.version,
)


class ServiceAccounts(Repository):
    """Rows the unit of work's scope sees: a tenant's accounts, or (uow(None)) the
    platform and service accounts; `by_client_id` in an all_tenants uow crosses them."""

    async def add(
        self,
        account_id: UUID,
        *,
        tenant_id: UUID | None,
        name: str,
        kind: str,
        client_id: str,
        secret_hash: str,
        capabilities: list[str],
    ) -> None:
        await self.session.execute(
            insert(_SA).values(
                service_account_id=account_id,
                tenant_id=tenant_id,
                name=name,
                kind=kind,
                client_id=client_id,
                secret_hash=secret_hash,
                capabilities=capabilities,
                status="active",
            )
        )

    async def by_client_id(self, client_id: str) -> Any:
        return (await self.session.execute(select(_SA).where(_SA.c.client_id == client_id))).first()

    async def get(self, account_id: UUID, *, lock: bool = False) -> Any:
        query = select(_SA).where(_SA.c.service_account_id == account_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).first()

    async def by_name(self, name: str) -> Any:
        """The (single) account of this scope with `name`: bootstrap looks its own up."""
        tenant = self.session.info.get("tenant")
        scope = _SA.c.tenant_id.is_(None) if tenant is None else _SA.c.tenant_id == tenant
        query = select(*_SA_PUBLIC).where(scope, _SA.c.name == name).limit(1)
        return (await self.session.execute(query)).first()

    async def page(
        self, *, after: tuple[Any, ...] | None, limit: int, kinds: tuple[str, ...]
    ) -> list[Any]:
        """Newest first by (created_at, id); `limit + 1` rows so the caller knows of more."""
        tenant = self.session.info.get("tenant")
        scope = _SA.c.tenant_id.is_(None) if tenant is None else _SA.c.tenant_id == tenant
        query = select(*_SA_PUBLIC).where(scope, _SA.c.kind.in_(kinds))
        if after is not None:
            query = query.where(tuple_(_SA.c.created_at, _SA.c.service_account_id) < tuple_(*after))
        query = query.order_by(_SA.c.created_at.desc(), _SA.c.service_account_id.desc())
        return list((await self.session.execute(query.limit(limit + 1))).all())

    async def set_secret(self, account_id: UUID, secret_hash: str) -> None:
        await self.session.execute(
            update(_SA)
            .where(_SA.c.service_account_id == account_id)
            .values(
                secret_hash=secret_hash,
                secret_rotated_at=func.now(),
                updated_at=func.now(),
                version=_SA.c.version + 1,
            )
        )

    async def set_status(self, account_id: UUID, status: str) -> None:
        await self.session.execute(
            update(_SA)
            .where(_SA.c.service_account_id == account_id)
            .values(status=status, updated_at=func.now(), version=_SA.c.version + 1)
        )


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
