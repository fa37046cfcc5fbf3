"""All of execution's SQL: one module per area; `tables` holds the schema."""

from agentsuite_execution.repositories.tables import metadata

__all__ = ["metadata"]
