"""Every topic name of the registry as a constant: code names topics only through these.

The registry (`agentsuite_contracts.registry`) builds each topic from its constant here,
and a unit test holds the two equal (each registry topic has exactly one constant, named
after it: `planning.plans.v1` -> `PLANNING_PLANS_V1`). A leaf module, so payload modules
(`llm.RESPONSES_TOPIC`) can name a topic without importing the registry.
"""

from __future__ import annotations

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
CATALOG_AGENTS_V1: Final = "catalog.agents.v1"
CATALOG_TEMPLATES_V1: Final = "catalog.templates.v1"
DISCOVERY_SESSIONS_V1: Final = "discovery.sessions.v1"
PLANNING_PLANS_V1: Final = "planning.plans.v1"
PLANNING_SCHEDULES_V1: Final = "planning.schedules.v1"
EXECUTION_EXECUTIONS_V1: Final = "execution.executions.v1"
LLM_REQUESTS_V1: Final = "llm.requests.v1"
LLM_RESPONSES_V1: Final = "llm.responses.v1"
LLM_USAGE_V1: Final = "llm.usage.v1"
LLM_PROVIDERS_V1: Final = "llm.providers.v1"
