"""Providers (models and prices: handlers/models.py): one function per command, and the
job that re-encrypts credentials after a key rotation.

Every write announces the tenant's catalogue change in its own transaction; the route
commits (with the Idempotency-Key's response, for a create) and then forgets this
process's copy. Credentials are sealed here and never leave: views say `has_credential`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.llm import (
    ModelRetired,
    ProviderRegistered,
    ProviderRemoved,
    ProviderUpdated,
)
from agentsuite_kit.jobs import Handler, Job
from agentsuite_llm_gateway.crypto import Cipher, CredentialError
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.uow import GatewayUow
from agentsuite_llm_gateway.upstream.guard import check_url

log = logging.getLogger(__name__)

DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
MAX_OPTIONS_BYTES = 64 * 1024
MAX_OPTIONS_DEPTH = 32
REENCRYPT = "llm.credentials.reencrypt"
REENCRYPT_CRON = "*/10 * * * *"
REENCRYPT_BATCH = 100

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=8192)]


def storable(value: Any) -> bool:
    """PostgreSQL's text and JSONB hold no NUL, no lone surrogate, no non-finite number."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    return True


def _json_refusal(value: Any) -> str | None:
    """Why `value` cannot be stored as options (None: it can). Iterative, and nesting is
    bounded: a deep document must be a 422, not a RecursionError's 500."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_OPTIONS_DEPTH:
            return f"nested deeper than {MAX_OPTIONS_DEPTH} levels"
        if isinstance(item, dict):
            for key, inner in item.items():
                if not storable(key):
                    return "a key contains NUL or an unpaired surrogate"
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif not storable(item):
            return "contains NUL, an unpaired surrogate or a non-finite number"
    return None


# headers options may not set: where the call goes and how its message is framed
FRAMING = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"}
    | {"te", "trailer", "expect", "proxy-connection"}
)
# header names that carry secrets: their values are sealed as the credential, never kept
SECRET_HINTS = ("auth", "key", "token", "secret", "cookie", "password", "signature")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


def _sendable(value: str) -> bool:
    """No control character: one would split or smuggle a header."""
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def _header_refusal(options: dict[str, Any]) -> str | None:
    headers = options.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            return "headers: must be an object of header names to strings"
        for name, value in headers.items():
            if not _TOKEN.match(name):
                return f"headers: {name[:40]!r} is not a header name"
            if name.lower() in FRAMING or name.lower().startswith("proxy-"):
                return f"headers: {name} is the gateway's to set"
            if not isinstance(value, str) or not _sendable(value):
                return f"headers.{name}: must be a string without control characters"
    auth = options.get("auth_header")
    if auth is not None and (
        not isinstance(auth, str) or not _TOKEN.match(auth) or auth.lower() in FRAMING
    ):
        return "auth_header: must be a header name"
    return None


def secret_header(options: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """(options without secret-bearing headers, the header's name, its value). A key sent
    in `api-key`/`x-api-key` (Azure, proxies) becomes the credential, sealed like any
    other, and `auth_header` names where the adapter sends it; `Authorization: Bearer`
    is the default and needs no name."""
    headers = dict(options.get("headers") or {})
    found = [n for n in headers if any(hint in n.lower() for hint in SECRET_HINTS)]
    if not found:
        return options, None, None
    if len(found) > 1:
        raise invalid("options.headers", "at most one header may carry a secret")
    name = found[0]
    value = headers.pop(name)
    kept = {**options, "headers": headers}
    if not headers:
        del kept["headers"]
    if name.lower() == "authorization" and value.lower().startswith("bearer "):
        return kept, name, value[len("bearer ") :].strip()
    return {**kept, "auth_header": name}, name, value


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("options", mode="after", check_fields=False)
    @classmethod
    def _options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        refusal = _json_refusal(value) or _header_refusal(value)
        if refusal is not None:
            raise ValueError(refusal)
        if len(json.dumps(value)) > MAX_OPTIONS_BYTES:
            raise ValueError(f"at most {MAX_OPTIONS_BYTES} bytes of JSON")
        return value

    @field_validator("credential", mode="after", check_fields=False)
    @classmethod
    def _credential(cls, value: SecretStr | None) -> SecretStr | None:
        # the message never quotes the value: it is a secret
        if value is not None:
            secret = value.get_secret_value()
            if not storable(secret) or not _sendable(secret):
                raise ValueError("contains a control character or an unpaired surrogate")
        return value


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


def invalid(field: str, message: str) -> GatewayError:
    return GatewayError(Code.INVALID_REQUEST, message, param=field, status=422)


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


async def create_provider(
    cmd: CreateProvider, uow: GatewayUow, *, cipher: Cipher, allowed: tuple[str, ...]
) -> ProviderView:
    """No commit: the route stores the Idempotency-Key's response in the same transaction."""
    tenant = tenant_of(uow)
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
        sealed = cipher.seal(tenant, provider_id, secret)
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
    await uow.providers.announce(tenant)
    return ProviderView.of(await get_provider(uow, provider_id))


async def get_provider(uow: GatewayUow, provider_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.providers.get(provider_id, lock=lock)
    if row is None:
        raise missing("provider", provider_id, "provider_id")
    return row


async def update_provider(
    cmd: UpdateProvider,
    uow: GatewayUow,
    *,
    provider_id: UUID,
    check: Any,
    cipher: Cipher,
    allowed: tuple[str, ...],
) -> ProviderView:
    """`check(version)` is the route's If-Match; no commit."""
    tenant = tenant_of(uow)
    row = await get_provider(uow, provider_id, lock=True)
    check(row["version"])
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
    await uow.providers.announce(tenant)
    return ProviderView.of(row)


async def delete_provider(uow: GatewayUow, *, provider_id: UUID) -> None:
    """With its models and prices (each model retired in an event of its own, so a
    consumer keeping models needs no knowledge of the cascade); no commit."""
    row = await get_provider(uow, provider_id, lock=True)
    for model in await uow.models.of_provider(provider_id):
        if model["enabled"]:
            uow.emit(ModelRetired(provider_id=provider_id, model=model["name"]))
    await uow.providers.remove(provider_id)
    uow.emit(ProviderRemoved(provider_id=provider_id, name=row["name"]))
    await uow.providers.announce(tenant_of(uow))


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
                await every.providers.announce(tenant)
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
