"""The kit's LLM client: request/reply with llm-gateway over `llm.requests.v1`, pending
calls in the service's database (`agentsuite_kit.llm.client`, `agentsuite_kit.llm.table`)."""

from agentsuite_kit.llm.client import Answered, Calls, LlmClient, Lock, Replies
from agentsuite_kit.llm.table import (
    ABANDONED,
    ANSWERED,
    PENDING,
    add_resend_columns,
    calls_table,
    create_calls_table,
    drop_resend_columns,
)

__all__ = [
    "ABANDONED",
    "ANSWERED",
    "PENDING",
    "Answered",
    "Calls",
    "LlmClient",
    "Lock",
    "Replies",
    "add_resend_columns",
    "calls_table",
    "create_calls_table",
    "drop_resend_columns",
]
