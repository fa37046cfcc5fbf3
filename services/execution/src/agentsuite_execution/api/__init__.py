"""execution's HTTP edge: one module-level router per area."""

from __future__ import annotations

from agentsuite_execution.api import control, events, executions, secrets

ROUTERS = [executions.routes, control.routes, events.routes, secrets.routes]
