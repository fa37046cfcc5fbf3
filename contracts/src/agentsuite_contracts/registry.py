"""The topic registry: every Kafka topic of Agentsuite, its key, partitions and payloads."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import TypeAdapter

from agentsuite_contracts import catalog, discovery, execution, identity, llm, planning
from agentsuite_contracts import topic_names as names
from agentsuite_contracts.envelope import Envelope, MessageKind, Payload, Subject
from agentsuite_contracts.topics import Registry as Registry
from agentsuite_contracts.topics import Topic as Topic
from agentsuite_contracts.topics import type_of as type_of
from agentsuite_contracts.topics import union_of

SERVICES: tuple[str, ...] = (
    "identity",
    "catalog",
    "discovery",
    "planning",
    "execution",
    "llm-gateway",
    "audit",
)


def _topic(
    name: str,
    key: str,
    partitions: int,
    description: str,
    payloads: tuple[type[Payload], ...],
    consumers: tuple[str, ...] = (),
    kind: MessageKind = "events",
    replies: tuple[str, ...] = (),
) -> Topic:
    prefix = name.split(".", 1)[0]
    owner = "llm-gateway" if prefix == "llm" else prefix
    return Topic(
        name=name,
        key=key,
        partitions=partitions,
        kind=kind,
        payloads=payloads,
        owner=owner,
        # audit keeps the trail of every domain topic
        consumers=(*consumers, "audit"),
        description=description,
        replies=replies,
    )


def _replies_to(service: str) -> Topic:
    return _topic(
        names.reply_topic(service),
        "request_id",
        12,
        f"llm-gateway's answers to {service}'s requests (their `reply_to`): a reply topic "
        f"of {names.LLM_RESPONSES_V1} that only {service} reads.",
        (llm.LlmResponse,),
        consumers=(service,),
    )


TOPICS: tuple[Topic, ...] = (
    _topic(
        names.IDENTITY_TENANTS_V1,
        "tenant_id",
        3,
        "Tenant lifecycle; every service drops or freezes a tenant's data from it.",
        (
            identity.TenantCreated,
            identity.TenantUpdated,
            identity.TenantSuspended,
            identity.TenantReactivated,
            identity.TenantDeleted,
        ),
        consumers=("catalog", "discovery", "planning", "execution", "llm-gateway"),
    ),
    _topic(
        names.IDENTITY_USERS_V1,
        "user_id",
        6,
        "User accounts.",
        (identity.UserCreated, identity.UserUpdated, identity.UserDeactivated),
    ),
    _topic(
        names.IDENTITY_ORGS_V1,
        "org_id",
        3,
        "Organizations, their members and invitations.",
        (
            identity.OrgCreated,
            identity.OrgUpdated,
            identity.OrgDeleted,
            identity.MemberAdded,
            identity.MemberRoleChanged,
            identity.MemberRemoved,
            identity.InvitationCreated,
            identity.InvitationAccepted,
            identity.InvitationRevoked,
        ),
    ),
    _topic(
        names.IDENTITY_ROLES_V1,
        "role_id",
        3,
        "Roles (capability sets) and their assignment to users.",
        (
            identity.RoleCreated,
            identity.RoleUpdated,
            identity.RoleDeleted,
            identity.RoleAssigned,
            identity.RoleRevoked,
        ),
        consumers=("execution",),
    ),
    _topic(
        names.IDENTITY_POLICIES_V1,
        "policy_id",
        3,
        "ABAC policies.",
        (identity.PolicyCreated, identity.PolicyUpdated, identity.PolicyDeleted),
    ),
    _topic(
        names.IDENTITY_API_KEYS_V1,
        "api_key_id",
        3,
        "API key issue and revocation (ids and prefixes only, never secrets).",
        (identity.ApiKeyCreated, identity.ApiKeyRevoked),
    ),
    _topic(
        names.IDENTITY_SIGNING_KEYS_V1,
        "kid",
        1,
        "JWT signing key rotations, for the audit trail. Verifiers need not consume it: they "
        "refresh the JWKS on a timer and when a token names an unknown `kid`.",
        (identity.SigningKeyRotated,),
    ),
    _topic(
        names.IDENTITY_SERVICE_ACCOUNTS_V1,
        "service_account_id",
        1,
        "Service accounts: machine principals of services, platform automation and tenants.",
        (
            identity.ServiceAccountCreated,
            identity.ServiceAccountSecretRotated,
            identity.ServiceAccountDisabled,
        ),
    ),
    _topic(
        names.IDENTITY_SESSIONS_V1,
        "user_id",
        3,
        "Sign-ins and sessions, for the audit trail of who signed in from where: sign-ins, "
        "failed sign-ins (never the password), lockouts, refresh-token reuse, and sessions "
        "revoked (logout, deactivation, reuse). Events without a user are keyed by a hash "
        "of the account or address.",
        (
            identity.SessionRevoked,
            identity.SignedIn,
            identity.SignInFailed,
            identity.SignInLockedOut,
            identity.RefreshTokenReused,
        ),
    ),
    _topic(
        names.IDENTITY_DECISIONS_V1,
        "decision_id",
        6,
        "Recorded authorization decisions with their explanation, for the audit trail.",
        (identity.AuthorizationDecided,),
    ),
    _topic(
        names.CATALOG_TOOLS_V1,
        "tool_id",
        6,
        "Tools and their immutable published versions.",
        (
            catalog.ToolRegistered,
            catalog.ToolUpdated,
            catalog.ToolVersionPublished,
            catalog.ToolPublished,
            catalog.ToolDeprecated,
            catalog.ToolVersionDeprecated,
        ),
        consumers=("discovery", "planning", "execution"),
    ),
    _topic(
        names.CATALOG_TASKS_V1,
        "task_id",
        3,
        "The task catalog.",
        (catalog.TaskCreated, catalog.TaskUpdated, catalog.TaskDeprecated),
        consumers=("discovery", "planning"),
    ),
    # its own topic: every payload of a topic carries the topic's key, and a group is no task
    _topic(
        names.CATALOG_TASK_GROUPS_V1,
        "group_id",
        3,
        "The task catalog's group hierarchy (a DAG): every change to a group, whole.",
        (catalog.TaskGroupChanged,),
        consumers=("discovery", "planning"),
    ),
    _topic(
        names.CATALOG_AGENTS_V1,
        "agent_id",
        3,
        "Agent definitions.",
        (catalog.AgentCreated, catalog.AgentUpdated, catalog.AgentDeprecated),
        consumers=("discovery", "planning", "execution"),
    ),
    _topic(
        names.CATALOG_TEMPLATES_V1,
        "template_id",
        3,
        "Workflow templates plans can start from.",
        (
            catalog.TemplateCreated,
            catalog.TemplateUpdated,
            catalog.TemplatePublished,
            catalog.TemplateDeprecated,
        ),
        consumers=("planning",),
    ),
    _topic(
        names.DISCOVERY_SESSIONS_V1,
        "session_id",
        6,
        "Discovery sessions: turns, extractions, obligations, and the requirements at the end.",
        (
            discovery.SessionStarted,
            discovery.TurnRecorded,
            discovery.ExtractionRecorded,
            discovery.ObligationChanged,
            discovery.SessionCompleted,
            discovery.SessionAbandoned,
            discovery.SessionReopened,
        ),
        consumers=("planning",),
    ),
    _topic(
        names.PLANNING_PLANS_V1,
        "plan_id",
        6,
        "Plans from draft to approval; `plan.approved` carries the full snapshot to execute.",
        (
            planning.PlanDrafted,
            planning.PlanUpdated,
            planning.PlanValidated,
            planning.PlanApproved,
            planning.PlanArchived,
            planning.PlanStale,
            planning.LabelMoved,
        ),
        consumers=("execution",),
    ),
    _topic(
        names.PLANNING_SCHEDULES_V1,
        "schedule_id",
        3,
        "Plan schedules; `schedule.fired` is the event that a slot came due: execution reacts "
        "by starting a run.",
        (
            planning.ScheduleCreated,
            planning.ScheduleUpdated,
            planning.ScheduleDeleted,
            planning.ScheduleFired,
        ),
        consumers=("execution",),
    ),
    _topic(
        names.PLANNING_TRIGGERS_V1,
        "trigger_id",
        3,
        "Webhook and API triggers of plans; `trigger.fired` is an accepted delivery: "
        "execution starts exactly one run per delivery.",
        (
            planning.TriggerCreated,
            planning.TriggerUpdated,
            planning.TriggerDeleted,
            planning.TriggerFired,
        ),
        consumers=("execution",),
    ),
    _topic(
        names.EXECUTION_EXECUTIONS_V1,
        "execution_id",
        12,
        "Every event of an execution (run, steps, approvals, budget) in order.",
        (
            execution.ExecutionStarted,
            execution.ExecutionPaused,
            execution.ExecutionResumed,
            execution.ExecutionCancelled,
            execution.ExecutionCompleted,
            execution.ExecutionFailed,
            execution.StepStarted,
            execution.StepSucceeded,
            execution.StepFailed,
            execution.StepRetrying,
            execution.StepSkipped,
            execution.StepAwaitingApproval,
            execution.ApprovalGranted,
            execution.ApprovalRejected,
            execution.BudgetWarning,
            execution.BudgetExceeded,
            execution.BudgetRaised,
            execution.LlmUsageOverrun,
        ),
        consumers=("planning",),
    ),
    _topic(
        names.LLM_REQUESTS_V1,
        "request_id",
        12,
        "Chat-completion commands to llm-gateway, each answered once on `reply_to`.",
        (llm.LlmRequest,),
        consumers=("llm-gateway",),
        kind="commands",
    ),
    _topic(
        names.LLM_RESPONSES_V1,
        "request_id",
        12,
        "llm-gateway's answers to requests that name it as `reply_to` (those of a "
        "requester without a reply topic, and requests sent before the reply topics); each "
        "requester keeps those with its own `requester`.",
        (llm.LlmResponse,),
        consumers=("discovery", "planning", "execution"),
        replies=tuple(names.REPLY_TOPICS.values()),
    ),
    *(_replies_to(service) for service in names.REPLY_TOPICS),
    _topic(
        names.LLM_USAGE_V1,
        "tenant_id",
        6,
        "Metered LLM usage, budget warnings and budget breaches.",
        (llm.UsageRecorded, llm.LlmBudgetWarning, llm.LlmBudgetExceeded),
    ),
    _topic(
        names.LLM_PROVIDERS_V1,
        "provider_id",
        1,
        "Model providers and the models they serve (no credentials).",
        (
            llm.ProviderRegistered,
            llm.ProviderUpdated,
            llm.ProviderRemoved,
            llm.ModelRegistered,
            llm.ModelRetired,
        ),
        # execution keeps model prices for its budget reservations
        consumers=("execution", "planning"),
    ),
)

REGISTRY = Registry(TOPICS)
"""Agentsuite's topics; what every service's consumers are checked against."""

# dict.fromkeys: a reply topic repeats its home's payloads
PAYLOADS: tuple[type[Payload], ...] = tuple(dict.fromkeys(c for t in TOPICS for c in t.payloads))
"""Every payload class, in registry order."""


def topic(name: str) -> Topic:
    """The topic called `name`."""
    return REGISTRY.topic(name)


def topic_for_type(type_: str) -> Topic:
    """The topic that carries messages of type `type_`."""
    return REGISTRY.topic_for_type(type_)


def partition_key(envelope: Envelope[Any], topic_: Topic | str | None = None) -> str:
    """The Kafka key of `envelope`: the payload field its topic names, as a string.

    A topic outside the registry (tests, private topics) keys by the subject id.
    """
    name = topic_.name if isinstance(topic_, Topic) else topic_
    found = REGISTRY.carrying(envelope.type) if name is None else REGISTRY.get(name)
    if found is None:
        return envelope.subject.id
    value = getattr(envelope.payload, found.key, None)
    if value is None and found.key == "tenant_id":
        value = envelope.tenant_id
    if value is None:
        raise ValueError(f"{envelope.type} has no {found.key!r}, the key of topic {found.name}")
    return str(value)


def subject_of(payload: Payload) -> Subject:
    """The aggregate a payload is about: its topic's key field (`plan_id` -> plan <id>)."""
    found = REGISTRY.carrying(payload.type)
    if found is None:
        raise KeyError(f"unknown message type {payload.type!r}; pass subject= explicitly")
    value = getattr(payload, found.key, None)
    if value is None:
        raise ValueError(f"{payload.type} has no {found.key!r}; pass subject= explicitly")
    return Subject(type=found.key.removesuffix("_id"), id=str(value))


def payload_class(type_: str) -> type[Payload]:
    """The payload class of message type `type_`."""
    for cls in topic_for_type(type_).payloads:
        if type_of(cls) == type_:
            return cls
    raise AssertionError("unreachable: the registry and payloads disagree")


@functools.cache
def _adapter(name: str | None) -> TypeAdapter[Envelope[Any]]:
    union = union_of(PAYLOADS) if name is None else topic(name).payload
    # mypy cannot take a runtime-built union as a type argument; pydantic can.
    adapter: TypeAdapter[Envelope[Any]] = TypeAdapter(Envelope[union])  # type: ignore[valid-type]
    return adapter


def envelope_adapter(topic_: Topic | str | None = None) -> TypeAdapter[Envelope[Any]]:
    """Validator of envelopes on a topic, payload discriminated on `type`.

    `None` gives one over every payload type of every topic (what audit reads).
    The adapter is strict: unknown fields are errors. Consumers should decode with
    `decode()`, which tolerates fields added later in the same version.
    """
    return _adapter(topic_.name if isinstance(topic_, Topic) else topic_)


def decode(
    topic_: Topic | str | None,
    data: bytes | str | Mapping[str, Any],
    *,
    extra: Literal["ignore", "forbid"] = "ignore",
) -> Envelope[Any]:
    """Validate a raw message read from `topic_`.

    Unknown fields are ignored by default: a producer on a newer minor revision may add
    optional fields, and an older consumer must still accept the message.
    """
    adapter = envelope_adapter(topic_)
    if isinstance(data, bytes | str):
        return adapter.validate_json(data, extra=extra)
    return adapter.validate_python(data, extra=extra)
