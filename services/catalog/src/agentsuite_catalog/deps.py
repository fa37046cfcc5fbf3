"""What handlers and routes share beside the unit of work: one per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentsuite_catalog.settings import CatalogSettings
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.runtime import Runtime


@dataclass
class Deps:
    settings: CatalogSettings
    runtime: Runtime[CatalogUow] = field(init=False)
