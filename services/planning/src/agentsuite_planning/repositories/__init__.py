"""All of planning's SQL: one module per aggregate; `tables` holds the schema."""

from agentsuite_planning.repositories.tables import metadata

__all__ = ["metadata"]
