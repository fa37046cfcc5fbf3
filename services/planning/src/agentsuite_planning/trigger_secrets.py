"""Webhook signing secrets at rest: the kit's AES-256-GCM sealing, the associated data bound
to (tenant, trigger), so a blob copied to another trigger's or tenant's row fails to open."""

from __future__ import annotations

from uuid import UUID

from agentsuite_kit.errors import Conflict
from agentsuite_kit.sealing import Sealer, SealError
from agentsuite_planning.settings import PlanningSettings

_AAD = b"planning/trigger-secret/v1|"

__all__ = ["SealError", "TriggerSecrets", "associated_data"]


def associated_data(tenant_id: UUID, trigger_id: UUID) -> bytes:
    # both UUIDs have a fixed-length text form, so the join is unambiguous
    return _AAD + str(tenant_id).encode() + b"|" + str(trigger_id).encode()


class TriggerSecrets:
    """Seals and opens signing secrets; with no keys configured every use refuses."""

    def __init__(self, settings: PlanningSettings) -> None:
        keys, active = settings.trigger_secret_keys, settings.trigger_secret_key_id
        self.sealer = Sealer(keys, active) if keys and active is not None else None

    def seal(self, tenant_id: UUID, trigger_id: UUID, secret: str) -> tuple[bytes, str]:
        if self.sealer is None:
            raise Conflict(
                "secrets_unconfigured",
                "webhook triggers need sealing keys (trigger_secret_keys); none is configured",
            )
        return self.sealer.seal(associated_data(tenant_id, trigger_id), secret)

    def open(self, tenant_id: UUID, trigger_id: UUID, blob: bytes, key_id: str) -> str:
        if self.sealer is None:
            raise SealError("no trigger secret keys are configured (trigger_secret_keys)")
        return self.sealer.open(
            associated_data(tenant_id, trigger_id), blob, key_id, what=f"trigger {trigger_id}"
        )
