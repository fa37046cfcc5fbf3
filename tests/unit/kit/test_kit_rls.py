"""The RLS and grant SQL, and its refusal of anything but plain identifiers."""

from __future__ import annotations

import pytest

from agentsuite_kit.db.rls import (
    ALL_TENANTS,
    ALL_TENANTS_SETTING,
    CURRENT_TENANT,
    TENANT_SETTING,
    grant_statements,
    rls_statements,
    tenant_predicate,
)

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
CROSSING = "coalesce(current_setting('app.all_tenants', true), '') = 'on'"

BAD = [
    "notes; drop table x",
    "Notes",
    "1notes",
    "",
    "notes x",
    'no"tes',
    "public.notes",
    "nötes",
    "notes\n",  # `$` would match before a final newline; fullmatch does not
]


def test_current_tenant_and_crossing_expressions() -> None:
    assert (TENANT_SETTING, ALL_TENANTS_SETTING) == ("app.tenant_id", "app.all_tenants")
    assert CURRENT_TENANT == TENANT
    # missing_ok (the `true`): a transaction that never set it reads NULL, not an error
    assert ALL_TENANTS == CROSSING


def test_predicate_matches_the_tenant_or_an_explicit_crossing() -> None:
    assert tenant_predicate() == f"(tenant_id = {TENANT} OR {CROSSING})"


def test_nullable_predicate_lets_tenantless_rows_match_tenantless_transactions() -> None:
    assert tenant_predicate("tenant_id", nullable=True) == (
        f"((tenant_id = {TENANT} OR (tenant_id IS NULL AND {TENANT} IS NULL)) OR {CROSSING})"
    )


def test_rls_statements() -> None:
    p = f"(tenant_id = {TENANT} OR {CROSSING})"
    assert rls_statements("notes") == [
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY notes_tenant_isolation ON notes USING {p} WITH CHECK {p}",
    ]


def test_rls_statements_other_column() -> None:
    policy = rls_statements("org_members", column="org_tenant")[2]
    p = f"(org_tenant = {TENANT} OR {CROSSING})"
    assert policy == (
        f"CREATE POLICY org_members_tenant_isolation ON org_members USING {p} WITH CHECK {p}"
    )


@pytest.mark.parametrize("name", BAD)
def test_rls_rejects_bad_table(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        rls_statements(name)


@pytest.mark.parametrize("name", BAD)
def test_rls_rejects_bad_column(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        rls_statements("notes", column=name)


def test_grant_statements() -> None:
    assert grant_statements("notes", "planning_app") == [
        "GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO planning_app"
    ]


@pytest.mark.parametrize("name", BAD)
def test_grant_rejects_bad_identifiers(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        grant_statements(name, "planning_app")
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        grant_statements("notes", name)
