"""Row-level security: the SQL that scopes a table to the transaction's tenant."""

from __future__ import annotations

import re

TENANT_SETTING = "app.tenant_id"
ALL_TENANTS_SETTING = "app.all_tenants"

# NULLIF: an unset custom setting reads as '' once any transaction touched it, and ''::uuid
# would raise instead of matching nothing.
CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"

# The one explicit way across tenants (relay, pruning, cross-tenant data migrations): a
# transaction-local setting only `UnitOfWork(all_tenants=True)` and
# `migrate.all_tenants()` set. RLS guards against a forgotten tenant filter; it is not a
# wall against the service's own code, which could always connect otherwise.
ALL_TENANTS = f"coalesce(current_setting('{ALL_TENANTS_SETTING}', true), '') = 'on'"

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def tenant_predicate(column: str = "tenant_id", *, nullable: bool = False) -> str:
    """The policy expression: the row's tenant is the transaction's (or all are allowed).

    `nullable`: rows without a tenant (platform-level) match a transaction without one.
    """
    c = _ident(column)
    match = f"{c} = {CURRENT_TENANT}"
    if nullable:
        match = f"({match} OR ({c} IS NULL AND {CURRENT_TENANT} IS NULL))"
    return f"({match} OR {ALL_TENANTS})"


def rls_statements(table: str, column: str = "tenant_id", *, nullable: bool = False) -> list[str]:
    """Enable and FORCE RLS on `table` with one policy matching `column` to the tenant.

    FORCE makes the policy bind the table owner too, so a service that mistakenly connects
    as the owner still cannot cross tenants; the app role is never the owner anyway.
    """
    t = _ident(table)
    predicate = tenant_predicate(column, nullable=nullable)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {t}_tenant_isolation ON {t} USING {predicate} WITH CHECK {predicate}",
    ]


def grant_statements(table: str, role: str) -> list[str]:
    """DML on `table` for the app role (no DDL, no TRUNCATE, not ownership)."""
    return [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {_ident(table)} TO {_ident(role)}"]
