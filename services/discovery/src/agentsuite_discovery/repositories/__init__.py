"""All of discovery's SQL: one module per aggregate; `tables` holds the schema."""

from agentsuite_discovery.repositories.tables import metadata

__all__ = ["metadata"]
