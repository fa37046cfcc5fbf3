"""All of catalog's SQL: one module per aggregate; `tables` holds the schema."""

from agentsuite_catalog.repositories.tables import metadata

__all__ = ["metadata"]
