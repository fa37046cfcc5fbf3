"""All of llm-gateway's SQL: one module per area; `tables` holds the schema."""

from agentsuite_llm_gateway.repositories.tables import metadata

__all__ = ["metadata"]
