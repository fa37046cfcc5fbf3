"""SQL of service accounts, refresh tokens, signing keys and the login throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, or_, select, text, tuple_, update

from agentsuite_identity.changes import PLATFORM
from agentsuite_identity.repositories.authz import announce
from agentsuite_identity.repositories.tables import (
    login_throttle,
    members,
    orgs,
    refresh_tokens,
    service_accounts,
    signing_keys,
    tenants,
    users,
)
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


# the first-start bootstrap's lock (bootstrap.py), beside the accounts it makes
_BOOTSTRAP_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('identity.bootstrap'))")


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

    async def lock_bootstrap(self) -> None:
        """Serialise the first-start bootstrap: workers starting together must not each
        mint an operator credential."""
        await self.session.execute(_BOOTSTRAP_LOCK)

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
        # identity's live token check caches who is active; a tenantless account's
        # standing is announced under PLATFORM (a uow(None) has no tenant to announce)
        await announce(self, None if self.session.info["tenant"] is not None else PLATFORM)

    async def tenantless_active(self, account_id: UUID) -> bool:
        """In a uow(None): whether the platform or service account is active."""
        found = await self.session.scalar(
            select(_SA.c.status).where(
                _SA.c.service_account_id == account_id, _SA.c.tenant_id.is_(None)
            )
        )
        return bool(found == "active")


_RT = refresh_tokens


class RefreshTokens(Repository):
    """One row per refresh token; a family is one sign-in and all its rotations."""

    async def add(
        self,
        *,
        token_id: UUID,
        family_id: UUID,
        user_id: UUID,
        org_id: UUID | None,
        token_hash: bytes,
        expires_at: datetime,
    ) -> None:
        await self.session.execute(
            insert(_RT).values(
                token_id=token_id,
                tenant_id=self.session.info["tenant"],
                family_id=family_id,
                user_id=user_id,
                org_id=org_id,
                token_hash=token_hash,
                expires_at=expires_at,
            )
        )

    async def tenant_of(self, token_hash: bytes) -> UUID | None:
        """Whose token this is, before the tenant is known: call in an all_tenants uow."""
        found = await self.session.scalar(
            select(_RT.c.tenant_id).where(_RT.c.token_hash == token_hash)
        )
        return None if found is None else UUID(str(found))

    async def claim(self, token_hash: bytes) -> Any:
        """The token's row, locked: two requests presenting it are served one at a time."""
        query = select(_RT).where(_RT.c.token_hash == token_hash).with_for_update()
        return (await self.session.execute(query)).first()

    async def mark_used(self, token_id: UUID) -> None:
        await self.session.execute(
            update(_RT).where(_RT.c.token_id == token_id).values(used_at=func.now())
        )

    async def revoke_family(self, family_id: UUID) -> int:
        done = await self.session.execute(
            update(_RT)
            .where(_RT.c.family_id == family_id, _RT.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(_RT.c.token_id)
        )
        return len(done.all())

    async def live_families(self, user_id: UUID) -> list[UUID]:
        """Families of the user with a token that could still be used."""
        query = (
            select(_RT.c.family_id)
            .where(
                _RT.c.user_id == user_id,
                _RT.c.revoked_at.is_(None),
                _RT.c.used_at.is_(None),
                _RT.c.expires_at > func.now(),
            )
            .distinct()
        )
        return [UUID(str(f)) for f in (await self.session.scalars(query)).all()]


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

    async def listing(self) -> list[Any]:
        """Every key's public facts, newest first; never the (sealed) private part."""
        c = signing_keys.c
        query = select(
            c.kid, c.algorithm, c.created_at, c.activated_at, c.retired_at, c.verify_until
        ).order_by(c.activated_at.desc())
        return list((await self.session.execute(query)).all())


_LT = login_throttle

# one statement per failure: counts it in the current window (a new window once the old
# one or a served lockout is over) and locks the key when the count reaches the limit
_FAIL = text(
    """
    INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
    VALUES (:key, 1, now(),
            CASE WHEN CAST(:limit AS integer) <= 1 THEN now() + CAST(:lockout AS interval) END)
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN t.window_started_at <= now() - CAST(:window AS interval)
                        OR (t.locked_until IS NOT NULL AND t.locked_until <= now())
                      THEN 1 ELSE t.failures + 1 END,
      window_started_at = CASE WHEN t.window_started_at <= now() - CAST(:window AS interval)
                                 OR (t.locked_until IS NOT NULL AND t.locked_until <= now())
                               THEN now() ELSE t.window_started_at END,
      locked_until = CASE
        WHEN t.locked_until IS NOT NULL AND t.locked_until > now() THEN t.locked_until
        WHEN (CASE WHEN t.window_started_at <= now() - CAST(:window AS interval)
                     OR (t.locked_until IS NOT NULL AND t.locked_until <= now())
                   THEN 1 ELSE t.failures + 1 END) >= CAST(:limit AS integer)
        THEN now() + CAST(:lockout AS interval)
        ELSE NULL END
    RETURNING locked_until,
              -- set by this very statement: a lock set earlier ends at another instant
              locked_until = now() + CAST(:lockout AS interval) AS newly_locked
    """
)


class LoginThrottle(Repository):
    """Failed sign-ins per keyed hash (of an account or an address); no tenant, no RLS."""

    async def locked(self, keys: list[str]) -> dict[str, datetime]:
        """The keys among `keys` locked now, with until when."""
        query = select(_LT.c.key, _LT.c.locked_until).where(
            _LT.c.key.in_(keys), _LT.c.locked_until > func.now()
        )
        return {row.key: row.locked_until for row in (await self.session.execute(query)).all()}

    async def fail(
        self, key: str, *, limit: int, window: timedelta, lockout: timedelta
    ) -> datetime | None:
        """Count a failure; until when the key is locked if this failure locked it (once
        per lockout, however many failures race to the limit), else None."""
        row = (
            await self.session.execute(
                _FAIL, {"key": key, "limit": limit, "window": window, "lockout": lockout}
            )
        ).one()
        return row.locked_until if row.newly_locked else None

    async def reset(self, key: str) -> None:
        await self.session.execute(delete(_LT).where(_LT.c.key == key))


class SignIn(Repository):
    """The directory reads a sign-in needs beyond the directory's own (tenant by slug, user
    by email in any case, membership by org slug or id, the rehash on login).

    Kept beside the credentials rather than in the directory repositories so the token
    grants depend on nothing but these few statements.
    """

    async def tenant_by_slug(self, slug: str) -> Any:
        """Across tenants (all_tenants uow): the slug is how a client names its tenant."""
        query = select(tenants.c.tenant_id, tenants.c.status).where(tenants.c.slug == slug)
        return (await self.session.execute(query)).first()

    async def user_by_email(self, tenant_id: UUID, email: str) -> Any:
        # the tenant is named although RLS filters on it too: the policy's OR cannot seek
        # an index; email_lower (not lower(email)) is what may, under RLS (migration 0005)
        query = select(users.c.user_id, users.c.password_hash, users.c.status).where(
            users.c.tenant_id == tenant_id, users.c.email_lower == email.lower()
        )
        return (await self.session.execute(query.limit(1))).first()

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self.session.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(password_hash=password_hash, updated_at=func.now())
        )

    async def member_org(self, user_id: UUID, org: str) -> UUID | None:
        """The org named by `org` (slug, or id) if `user_id` is a member of it."""
        try:
            named = orgs.c.org_id == UUID(org)
        except ValueError:
            named = orgs.c.slug == org
        query = (
            select(orgs.c.org_id)
            .join(members, members.c.org_id == orgs.c.org_id)
            .where(named, members.c.user_id == user_id)
        )
        found = await self.session.scalar(query)
        return None if found is None else UUID(str(found))
