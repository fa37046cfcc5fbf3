"""Agentsuite message contracts: the envelope, every payload, and the topic registry.

Payload modules, one per publishing service: `identity`, `catalog`, `discovery`,
`planning`, `execution`, `llm` (audit publishes nothing).
"""

from agentsuite_contracts.deadletter import DeadLetter
from agentsuite_contracts.envelope import Actor, Contract, Envelope, Payload, Subject, TraceContext
from agentsuite_contracts.ids import uuid7, uuid7_time_ms
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
    "Contract",
    "DeadLetter",
    "Envelope",
    "Payload",
    "Subject",
    "Topic",
    "TraceContext",
    "decode",
    "envelope_adapter",
    "payload_class",
    "topic",
    "topic_for_type",
    "type_of",
    "uuid7",
    "uuid7_time_ms",
]
