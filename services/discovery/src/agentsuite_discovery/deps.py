"""What handlers and routes share beside the unit of work: one per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentsuite_discovery.settings import DiscoverySettings
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.runtime import Runtime


@dataclass
class Deps:
    settings: DiscoverySettings
    runtime: Runtime[DiscoveryUow] = field(init=False)
