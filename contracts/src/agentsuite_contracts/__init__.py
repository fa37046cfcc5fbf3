"""Agentsuite message contracts: the envelope, every payload, and the topic registry.

Payload modules, one per publishing service: `identity`, `catalog`, `discovery`,
`planning` (plan steps and budgets in `steps`), `execution`, `llm` (audit publishes
nothing). Every payload is an `Event` or a `Command`; `marks` holds the field marks
(sensitive, personal, open enum) that the JSON Schema carries.
"""

from agentsuite_contracts.common import Money
from agentsuite_contracts.deadletter import DeadLetter
from agentsuite_contracts.envelope import (
    Actor,
    Command,
    Contract,
    Envelope,
    Event,
    MessageKind,
    Payload,
    Subject,
    TraceContext,
    kind_of,
)
from agentsuite_contracts.ids import uuid7, uuid7_time_ms
from agentsuite_contracts.marks import Open, Personal, Sensitive, marked_paths
from agentsuite_contracts.registry import (
    PAYLOADS,
    SERVICES,
    TOPICS,
    Topic,
    decode,
    envelope_adapter,
    payload_class,
    topic,
    topic_for_type,
    type_of,
)

__all__ = [
    "PAYLOADS",
    "SERVICES",
    "TOPICS",
    "Actor",
    "Command",
    "Contract",
    "DeadLetter",
    "Envelope",
    "Event",
    "MessageKind",
    "Money",
    "Open",
    "Payload",
    "Personal",
    "Sensitive",
    "Subject",
    "Topic",
    "TraceContext",
    "decode",
    "envelope_adapter",
    "kind_of",
    "marked_paths",
    "payload_class",
    "topic",
    "topic_for_type",
    "type_of",
    "uuid7",
    "uuid7_time_ms",
]
