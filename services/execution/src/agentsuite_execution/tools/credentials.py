"""Tenant secrets (tool credentials) at rest and in flight.

At rest: the kit's AES-256-GCM sealing, the associated data bound to (tenant, name), so a
blob copied to another tenant's or another name's row fails to open. In flight: a
`Credential` an `http` or `mcp` call presents as its binding's `auth` says; its value is
kept out of its repr, and the tool calls mask it in whatever they answer or raise.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_execution.settings import ExecutionSettings
from agentsuite_kit.outbound import clip, encoded_forms, mask
from agentsuite_kit.outbound.errors import SECRET_MIN
from agentsuite_kit.sealing import Sealer, SealError

_AAD = b"execution/tenant-secret/v1|"

__all__ = ["Credential", "SealError", "SecretBox", "associated_data", "clipped", "masked"]


def associated_data(tenant_id: UUID, name: str) -> bytes:
    # a UUID's text has a fixed length, so tenant and name cannot be confused across `|`
    return _AAD + str(tenant_id).encode() + b"|" + name.encode("utf-8")


class SecretBox:
    """Seals and opens tenant secrets; `None` keys (none configured): every use refuses."""

    def __init__(self, settings: ExecutionSettings) -> None:
        self.sealer = (
            Sealer(settings.secret_keys, settings.secret_key_id)
            if settings.secret_keys and settings.secret_key_id is not None
            else None
        )

    @property
    def configured(self) -> bool:
        return self.sealer is not None

    @property
    def key_id(self) -> str | None:
        return self.sealer.key_id if self.sealer is not None else None

    def seal(self, tenant_id: UUID, name: str, value: str) -> tuple[bytes, str]:
        if self.sealer is None:
            raise SealError("no secret keys are configured (secret_keys)")
        return self.sealer.seal(associated_data(tenant_id, name), value)

    def open(self, tenant_id: UUID, name: str, blob: bytes, key_id: str) -> str:
        if self.sealer is None:
            raise SealError("no secret keys are configured (secret_keys)")
        return self.sealer.open(
            associated_data(tenant_id, name), blob, key_id, what=f"secret {name!r}"
        )

    def stale(self, key_id: str | None) -> bool:
        return self.sealer is not None and self.sealer.stale(key_id)


@dataclass(frozen=True, slots=True)
class Credential:
    """A resolved `auth`: how to present `value` (scheme `bearer`, `basic` with a
    `user:password` value, `header` or `query` under `name`)."""

    scheme: str
    secret_name: str
    value: str = field(repr=False)
    name: str | None = None

    def headers(self) -> dict[str, str]:
        """The headers presenting it (none for `query`)."""
        if self.scheme == "bearer":
            return {"Authorization": f"Bearer {self.value}"}
        if self.scheme == "basic":
            encoded = base64.b64encode(self.value.encode("utf-8")).decode("ascii")
            return {"Authorization": f"Basic {encoded}"}
        if self.scheme == "header" and self.name:
            return {self.name: self.value}
        return {}

    def query(self) -> dict[str, str]:
        """The query parameters presenting it (only for `query`)."""
        return {self.name: self.value} if self.scheme == "query" and self.name else {}

    @property
    def masked(self) -> tuple[str, ...]:
        """Every form of the value a message could quote, longest first: as stored, as
        sent (a header's value, the token of `basic`), each as a URL or a JSON string
        writes it (an upstream echoing its URL, an HTTP client's error quoting it). None
        shorter than the kit's minimum: masking "ab" would garble every message."""
        sent = {self.value, *self.headers().values()}
        if self.scheme == "basic":
            sent.add(self.headers()["Authorization"].partition(" ")[2])
        forms = {form for value in sent for form in encoded_forms(value)}
        return tuple(sorted((f for f in forms if len(f) >= SECRET_MIN), key=len, reverse=True))


def masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (JSON) with every secret in its strings and keys replaced by ***: what a
    tool echoes of its credential never reaches a step's output, an event or a log."""
    if not secrets:
        return value
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, list):
        return [masked(item, secrets) for item in value]
    if isinstance(value, dict):
        return {mask(str(k), secrets): masked(v, secrets) for k, v in value.items()}
    return value


def clipped(text: str, secrets: tuple[str, ...], limit: int, *, truncated: bool = False) -> str:
    """`text` masked, then cut to `limit` characters (the kit's `clip`): every place a
    tool's text is shortened goes through it, so no cut runs through an unmasked secret."""
    return clip(text, secrets, limit, truncated=truncated)
