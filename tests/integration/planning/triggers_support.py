"""What the trigger tests share: two Standard Webhooks senders (the `standardwebhooks`
library's, and one written from the specification here), a stand-in for plan-service's
plan state, and the settings that give planning sealing keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from standardwebhooks.webhooks import Webhook

from agentsuite_planning.domain.triggers import PlanTarget
from agentsuite_planning.uow import PlanningUow

SEALING: dict[str, Any] = {
    "trigger_secret_keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()},
    "trigger_secret_key_id": "k1",
    # triggers consume nothing: an instance started right after others stopped need not
    # wait for its tenants group's rebalance (a join then lasted minutes on the test broker)
    "consumers_join_before_ready": False,
}


def library_headers(
    secret: str, msg_id: str, body: bytes, at: datetime | None = None
) -> dict[str, str]:
    """Headers the `standardwebhooks` library's own signer makes."""
    when = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def spec_headers(
    secret: str, msg_id: str, body: bytes, at: datetime | None = None
) -> dict[str, str]:
    """Headers made from the specification alone: HMAC-SHA256 with the base64-decoded part
    of `whsec_...` over `{id}.{timestamp}.{body}`, sent as `v1,<base64>`; a second, unknown
    version's signature rides along first (a verifier must skip what it does not know)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    stamp = str(int((at or datetime.now(UTC)).timestamp()))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1a,AAAA " + "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


def body_of(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Plans:
    """plan-service's plan state as a trigger delivery reads it, per (tenant, plan)."""

    def __init__(self) -> None:
        self.targets: dict[tuple[UUID, UUID], PlanTarget] = {}

    def put(
        self,
        tenant: UUID,
        plan: UUID,
        approved: set[int],
        labels: Mapping[str, int] | None = None,
        *,
        stale: bool = False,
        archived: bool = False,
    ) -> None:
        self.targets[(tenant, plan)] = PlanTarget(
            archived=archived, stale=stale, approved=frozenset(approved), labels=dict(labels or {})
        )

    async def target(self, uow: PlanningUow, plan_id: UUID) -> PlanTarget | None:
        assert uow.tenant_id is not None
        return self.targets.get((uow.tenant_id, plan_id))
