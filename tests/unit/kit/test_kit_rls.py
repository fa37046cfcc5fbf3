"""The RLS and grant SQL, and its refusal of anything but plain identifiers."""

from __future__ import annotations

import pytest

from agentsuite_kit.db.rls import CURRENT_TENANT, TENANT_SETTING, grant_statements, rls_statements

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"

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


def test_current_tenant_expression() -> None:
    assert TENANT_SETTING == "app.tenant_id"
    assert CURRENT_TENANT == TENANT


def test_rls_statements() -> None:
    assert rls_statements("notes") == [
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY notes_tenant_isolation ON notes "
        f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})",
    ]


def test_rls_statements_other_column() -> None:
    policy = rls_statements("org_members", column="org_tenant")[2]
    assert policy == (
        f"CREATE POLICY org_members_tenant_isolation ON org_members "
        f"USING (org_tenant = {TENANT}) WITH CHECK (org_tenant = {TENANT})"
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
