"""What handlers and routes share beside the unit of work: one per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agentsuite_kit.runtime import Runtime
from agentsuite_planning.plan_targets import PlanTargets, StoredPlans
from agentsuite_planning.settings import PlanningSettings
from agentsuite_planning.trigger_secrets import TriggerSecrets
from agentsuite_planning.uow import PlanningUow


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    settings: PlanningSettings
    runtime: Runtime[PlanningUow] = field(init=False)
    # the time rotations and grace periods are measured by (tests move it)
    clock: Callable[[], datetime] = _now
    # plan state for trigger deliveries (see plan_targets)
    plan_targets: PlanTargets = field(default_factory=StoredPlans)
    trigger_secrets: TriggerSecrets = field(init=False)

    def __post_init__(self) -> None:
        self.trigger_secrets = TriggerSecrets(self.settings)
