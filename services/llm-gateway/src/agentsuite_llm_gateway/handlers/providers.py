"""Providers (models and prices: handlers/models.py): one function `(command, uow, deps)`
per command, and the job that re-encrypts credentials after a key rotation.

Every write announces the tenant's catalogue change in its own transaction
(`GatewayUow.catalog_changed`); the route commits (with the Idempotency-Key's response,
for a create). Credentials are sealed here and never leave: views say `has_credential`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.llm import (
    ModelRetired,
    ProviderRegistered,
    ProviderRemoved,
    ProviderUpdated,
)
from agentsuite_kit.http.etag import Precondition
from agentsuite_kit.jobs import Handler, Job
from agentsuite_llm_gateway.crypto import Cipher, CredentialError
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.handlers.inputs import Command, invalid, secret_header, storable
from agentsuite_llm_gateway.uow import GatewayUow
from agentsuite_llm_gateway.upstream.guard import check_url

log = logging.getLogger(__name__)

DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
REENCRYPT = "llm.credentials.reencrypt"
REENCRYPT_CRON = "*/10 * * * *"
REENCRYPT_BATCH = 100

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=8192)]


class CreateProvider(Command):
    name: Name
    kind: Literal["openai", "anthropic", "local"]
    base_url: Url | None = None
    credential: Secret | None = Field(default=None, description="Write only; never returned.")
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class UpdateProvider(Command):
    name: Name | None = None
    base_url: Url | None = None
    credential: Secret | None = Field(
        default=None, description="Rotates the secret (null: removes it); never returned."
    )
    options: dict[str, Any] | None = None
    enabled: bool | None = None


class ProviderView(BaseModel):
    provider_id: UUID
    name: str
    kind: str
    base_url: str | None
    enabled: bool
    options: dict[str, Any]
    has_credential: bool
    credential_key_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> ProviderView:
        values = {k: row[k] for k in cls.model_fields if k != "has_credential"}
        return cls(**values, has_credential=row["credential"] is not None)


def missing(what: str, ident: UUID, field: str) -> GatewayError:
    return GatewayError(Code.NOT_FOUND, f"{what} {ident} not found", param=field)


def _check_base_url(url: str, allowed: tuple[str, ...]) -> None:
    if not storable(url):
        raise invalid("base_url", "contains NUL or an unpaired surrogate")
    try:
        check_url(url, allowed)
    except ValueError as exc:
        raise invalid("base_url", str(exc)) from None


def _credential_of(
    options: dict[str, Any], credential: SecretStr | None
) -> tuple[dict[str, Any], str | None]:
    """The options to keep and the secret to seal: `credential`, or a key sent in a header."""
    kept, _, from_header = secret_header(options)
    if from_header is None:
        return kept, None if credential is None else credential.get_secret_value()
    if credential is not None:
        raise invalid("options.headers", "a header carries a secret besides `credential`")
    return kept, from_header


def tenant_of(uow: GatewayUow) -> UUID:
    assert uow.tenant_id is not None, "catalogue commands run in a tenant's unit of work"
    return uow.tenant_id


# --- providers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetProvider:
    provider_id: UUID


@dataclass(frozen=True, slots=True)
class ChangeProvider:
    provider_id: UUID
    body: UpdateProvider
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class DeleteProvider:
    provider_id: UUID


async def create_provider(cmd: CreateProvider, uow: GatewayUow, deps: Deps) -> ProviderView:
    """No commit: the route stores the Idempotency-Key's response in the same transaction."""
    tenant = tenant_of(uow)
    allowed = deps.settings.allowed_hosts
    base_url = cmd.base_url
    if cmd.kind == "local":
        if base_url is not None:
            raise invalid("base_url", "a local provider has no base URL")
    else:
        base_url = base_url or DEFAULT_URLS[cmd.kind]
        _check_base_url(base_url, allowed)
    provider_id = uuid7()
    options, secret = _credential_of(cmd.options, cmd.credential)
    sealed: tuple[bytes | None, str | None] = (None, None)
    if secret is not None:
        sealed = deps.cipher.seal(tenant, provider_id, secret)
    added = await uow.providers.add(
        provider_id,
        tenant,
        name=cmd.name,
        kind=cmd.kind,
        base_url=base_url,
        enabled=cmd.enabled,
        options=options,
        credential=sealed[0],
        credential_key_id=sealed[1],
    )
    if not added:
        raise GatewayError(Code.CONFLICT, f"a provider named {cmd.name!r} exists", param="name")
    uow.emit(
        ProviderRegistered(
            provider_id=provider_id,
            name=cmd.name,
            kind=cmd.kind,
            base_url=base_url,
            enabled=cmd.enabled,
        )
    )
    uow.catalog_changed(tenant)
    return ProviderView.of(await provider_row(uow, provider_id))


async def provider_row(uow: GatewayUow, provider_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.providers.get(provider_id, lock=lock)
    if row is None:
        raise missing("provider", provider_id, "provider_id")
    return row


async def get_provider(query: GetProvider, uow: GatewayUow, deps: Deps) -> ProviderView:
    return ProviderView.of(await provider_row(uow, query.provider_id))


async def update_provider(  # noqa: C901  a PATCH: one optional field after another, each validated and applied
    command: ChangeProvider, uow: GatewayUow, deps: Deps
) -> ProviderView:
    """At the version the route's If-Match names; no commit."""
    cmd, provider_id = command.body, command.provider_id
    cipher, allowed = deps.cipher, deps.settings.allowed_hosts
    tenant = tenant_of(uow)
    row = await provider_row(uow, provider_id, lock=True)
    command.precondition.check(row["version"])
    sent = cmd.model_fields_set
    values: dict[str, Any] = {}
    if "name" in sent and cmd.name is not None and cmd.name != row["name"]:
        if await uow.providers.named(cmd.name) is not None:
            raise GatewayError(Code.CONFLICT, f"a provider named {cmd.name!r} exists", param="name")
        values["name"] = cmd.name
    if "base_url" in sent:
        if row["kind"] == "local":
            if cmd.base_url is not None:
                raise invalid("base_url", "a local provider has no base URL")
        else:
            url = cmd.base_url or DEFAULT_URLS[row["kind"]]
            _check_base_url(url, allowed)
            values["base_url"] = url
    if cmd.enabled is not None:
        values["enabled"] = cmd.enabled
    rotated = "credential" in sent
    secret = None if cmd.credential is None else cmd.credential.get_secret_value()
    if cmd.options is not None:
        options, from_header = _credential_of(cmd.options, cmd.credential)
        if from_header is not None:
            rotated, secret = True, from_header
        elif "auth_header" in row["options"] and "auth_header" not in options:
            # where the key goes is part of the credential: it stays until set otherwise
            options["auth_header"] = row["options"]["auth_header"]
        elif options.get("auth_header", "") is None:
            options = {k: v for k, v in options.items() if k != "auth_header"}  # null removes
        values["options"] = options
    if rotated:
        blob, key_id = (None, None) if secret is None else cipher.seal(tenant, provider_id, secret)
        values.update(credential=blob, credential_key_id=key_id)
    if not values:
        return ProviderView.of(row)
    changed = await uow.providers.change(provider_id, **values)
    if changed is None:
        raise GatewayError(Code.CONFLICT, f"a provider named {cmd.name!r} exists", param="name")
    row = changed
    uow.emit(
        ProviderUpdated(
            provider_id=provider_id,
            name=row["name"],
            base_url=row["base_url"],
            enabled=row["enabled"],
            credentials_rotated=rotated,
        )
    )
    uow.catalog_changed(tenant)
    return ProviderView.of(row)


async def delete_provider(cmd: DeleteProvider, uow: GatewayUow, deps: Deps) -> None:
    """With its models and prices (each model retired in an event of its own, so a
    consumer keeping models needs no knowledge of the cascade); no commit."""
    provider_id = cmd.provider_id
    row = await provider_row(uow, provider_id, lock=True)
    for model in await uow.models.of_provider(provider_id):
        if model["enabled"]:
            uow.emit(ModelRetired(provider_id=provider_id, model=model["name"]))
    await uow.providers.remove(provider_id)
    uow.emit(ProviderRemoved(provider_id=provider_id, name=row["name"]))
    uow.catalog_changed(tenant_of(uow))


# --- credential re-encryption ---------------------------------------------------------------


async def reencrypt(
    cipher: Cipher, uow: Callable[[UUID | None], GatewayUow], *, batch: int = REENCRYPT_BATCH
) -> int:
    """Move every tenant's credentials still under another key to the active key, in
    batches (each its own all-tenants transaction, each row under its own tenant's
    associated data); the number moved. A row whose key is no longer configured (or whose
    blob does not open) is logged by id and left as it is."""
    moved = 0
    after: UUID | None = None
    while True:
        async with uow(None) as every:
            rows = await every.providers.stale_credentials(cipher.key_id, batch, after)
            for row in rows:
                tenant, provider = row["tenant_id"], row["provider_id"]
                after = provider  # one pass in id order: a row that fails is not met again
                try:
                    secret = cipher.open(
                        tenant, provider, row["credential"], row["credential_key_id"]
                    )
                except CredentialError as exc:
                    log.warning("credential not re-encrypted: %s", exc)
                    continue
                blob, key_id = cipher.seal(tenant, provider, secret)
                await every.providers.reseal(provider, blob, key_id)
                every.catalog_changed(tenant)
                moved += 1
            await every.commit()
        if len(rows) < batch:
            return moved


def jobs(deps: Deps) -> dict[str, Handler[GatewayUow]]:
    """`llm.credentials.reencrypt`: see `reencrypt` (a tenantless job: every tenant)."""

    async def run(job: Job, uow: GatewayUow) -> None:
        moved = await reencrypt(deps.cipher, deps.uow)
        if moved:
            log.info("re-encrypted %d provider credentials under key %s", moved, deps.cipher.key_id)

    return {REENCRYPT: run}


async def schedule_reencrypt(uow: GatewayUow) -> None:
    """Register the tenantless re-encryption cron (idempotent: one row by key). Run at
    startup: after a rotation, old rows move within minutes, and open meanwhile."""
    await uow.jobs.schedule(REENCRYPT, cron=REENCRYPT_CRON, key=REENCRYPT)
