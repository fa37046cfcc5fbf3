"""Every topic name of the registry as a constant: code names topics only through these.

The registry (`agentsuite_contracts.registry`) builds each topic from its constant here,
and a unit test holds the two equal (each registry topic has exactly one constant, named
after it: `planning.plans.v1` -> `PLANNING_PLANS_V1`). A leaf module, so payload modules
(`llm.RESPONSES_TOPIC`) can name a topic without importing the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

IDENTITY_TENANTS_V1: Final = "identity.tenants.v1"
IDENTITY_USERS_V1: Final = "identity.users.v1"
IDENTITY_ORGS_V1: Final = "identity.orgs.v1"
IDENTITY_ROLES_V1: Final = "identity.roles.v1"
IDENTITY_POLICIES_V1: Final = "identity.policies.v1"
IDENTITY_API_KEYS_V1: Final = "identity.api_keys.v1"
IDENTITY_SIGNING_KEYS_V1: Final = "identity.signing_keys.v1"
IDENTITY_SERVICE_ACCOUNTS_V1: Final = "identity.service_accounts.v1"
IDENTITY_SESSIONS_V1: Final = "identity.sessions.v1"
IDENTITY_DECISIONS_V1: Final = "identity.decisions.v1"
CATALOG_TOOLS_V1: Final = "catalog.tools.v1"
CATALOG_TASKS_V1: Final = "catalog.tasks.v1"
CATALOG_TASK_GROUPS_V1: Final = "catalog.task_groups.v1"
CATALOG_AGENTS_V1: Final = "catalog.agents.v1"
CATALOG_TEMPLATES_V1: Final = "catalog.templates.v1"
DISCOVERY_SESSIONS_V1: Final = "discovery.sessions.v1"
PLANNING_PLANS_V1: Final = "planning.plans.v1"
PLANNING_SCHEDULES_V1: Final = "planning.schedules.v1"
PLANNING_TRIGGERS_V1: Final = "planning.triggers.v1"
EXECUTION_EXECUTIONS_V1: Final = "execution.executions.v1"
LLM_REQUESTS_V1: Final = "llm.requests.v1"
LLM_RESPONSES_V1: Final = "llm.responses.v1"
LLM_RESPONSES_EXECUTION_V1: Final = "llm.responses.execution.v1"
LLM_RESPONSES_DISCOVERY_V1: Final = "llm.responses.discovery.v1"
LLM_RESPONSES_PLANNING_V1: Final = "llm.responses.planning.v1"
LLM_USAGE_V1: Final = "llm.usage.v1"
LLM_PROVIDERS_V1: Final = "llm.providers.v1"

REPLY_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "execution": LLM_RESPONSES_EXECUTION_V1,
        "discovery": LLM_RESPONSES_DISCOVERY_V1,
        "planning": LLM_RESPONSES_PLANNING_V1,
    }
)
"""Requesting service -> the topic llm-gateway answers its requests on: the registry
declares each a reply topic of `llm.responses.v1`, carrying `LlmResponse` for one reader,
so a requester reads only its own answers."""


def reply_topic(service: str) -> str:
    """The reply topic of requesting `service` (`llm.responses.<service>.v1`)."""
    found = REPLY_TOPICS.get(service)
    if found is None:
        raise KeyError(
            f"no reply topic for requester {service!r}; registered: {', '.join(REPLY_TOPICS)}"
        )
    return found
