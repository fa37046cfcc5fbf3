"""identity consumes no topic: it is the source of every `identity.*` event and depends on
no other service (ARCHITECTURE.md's map). The module stays so the layout reads like every
other service's."""

from __future__ import annotations

from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.runtime import ConsumerSpec

CONSUMERS: list[ConsumerSpec[IdentityUow]] = []
