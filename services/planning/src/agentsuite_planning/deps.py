"""What handlers and routes share beside the unit of work: one per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentsuite_kit.runtime import Runtime
from agentsuite_planning.settings import PlanningSettings
from agentsuite_planning.uow import PlanningUow


@dataclass
class Deps:
    settings: PlanningSettings
    runtime: Runtime[PlanningUow] = field(init=False)
