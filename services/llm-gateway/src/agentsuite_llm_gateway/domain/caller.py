"""Who a request is for: the attribution used by rules, budgets, traces and usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: UUID
    user_id: UUID | None = None
    org_id: UUID | None = None
    api_key_id: UUID | None = None
    source: Literal["api", "kafka"] = "api"
    requester: str = "api"  # the service, for Kafka requests and service tokens
    run_id: str | None = None  # execution's run, when it names one

    def subjects(self) -> list[tuple[str, str]]:
        """(kind, id) of every subject this caller is, broadest first."""
        found = [("tenant", str(self.tenant_id))]
        if self.org_id is not None:
            found.append(("org", str(self.org_id)))
        if self.user_id is not None:
            found.append(("user", str(self.user_id)))
        if self.api_key_id is not None:
            found.append(("api_key", str(self.api_key_id)))
        return found
