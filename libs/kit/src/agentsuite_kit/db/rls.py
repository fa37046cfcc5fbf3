"""Row-level security: the SQL that scopes a table to the transaction's tenant."""

from __future__ import annotations

import re

TENANT_SETTING = "app.tenant_id"

# NULLIF: an unset custom setting reads as '' once any transaction touched it, and ''::uuid
# would raise instead of matching nothing.
CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def rls_statements(table: str, column: str = "tenant_id") -> list[str]:
    """Enable and FORCE RLS on `table` with one policy matching `column` to the tenant.

    FORCE makes the policy bind the table owner too, so a service that mistakenly connects
    as the owner still cannot cross tenants; the app role is never the owner anyway.
    """
    t, c = _ident(table), _ident(column)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {t}_tenant_isolation ON {t} "
        f"USING ({c} = {CURRENT_TENANT}) WITH CHECK ({c} = {CURRENT_TENANT})",
    ]


def grant_statements(table: str, role: str) -> list[str]:
    """DML on `table` for the app role (no DDL, no TRUNCATE, not ownership)."""
    return [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {_ident(table)} TO {_ident(role)}"]
