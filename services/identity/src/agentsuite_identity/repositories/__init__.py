"""All of identity's SQL: one repository module per area, the tables in `tables`."""

from agentsuite_identity.repositories.tables import metadata

__all__ = ["metadata"]
