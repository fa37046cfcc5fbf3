"""Database plumbing: engines, tenant-scoped units of work, repositories, RLS, migrations."""

from agentsuite_kit.db.engine import make_engine
from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.rls import TENANT_SETTING, rls_statements
from agentsuite_kit.db.tables import inbox, kit_metadata, outbox
from agentsuite_kit.db.uow import UnitOfWork

__all__ = [
    "TENANT_SETTING",
    "Repository",
    "UnitOfWork",
    "inbox",
    "kit_metadata",
    "make_engine",
    "outbox",
    "rls_statements",
]
