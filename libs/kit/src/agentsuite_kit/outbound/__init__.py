"""Outbound HTTP to addresses a service does not control: one guarded, bounded client."""

from agentsuite_kit.outbound.client import (
    ConnectorFactory,
    Exchange,
    OutboundClient,
    Reply,
    read_body,
    tcp_connector,
)
from agentsuite_kit.outbound.errors import (
    MASK,
    Dropped,
    InvalidResponse,
    OutboundError,
    TargetBlocked,
    TimedOut,
    TooLarge,
    Unreachable,
    clip,
    encoded_forms,
    mask,
    secrets_of,
)
from agentsuite_kit.outbound.pinned import PinnedResolver

__all__ = [
    "MASK",
    "ConnectorFactory",
    "Dropped",
    "Exchange",
    "InvalidResponse",
    "OutboundClient",
    "OutboundError",
    "PinnedResolver",
    "Reply",
    "TargetBlocked",
    "TimedOut",
    "TooLarge",
    "Unreachable",
    "clip",
    "encoded_forms",
    "mask",
    "read_body",
    "secrets_of",
    "tcp_connector",
]
