"""All of execution's SQL: one module per area; `tables` and `projected` hold the schema."""

from agentsuite_execution.repositories import projected, tables
from agentsuite_execution.repositories.columns import metadata

__all__ = ["metadata", "projected", "tables"]
