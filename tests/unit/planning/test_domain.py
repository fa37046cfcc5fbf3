"""planning's domain rules, without a server (the tenant rules are the kit's:
tests/unit/kit/test_kit_tenants.py)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_kit.errors import Invalid, Kind
from agentsuite_planning.domain.items import MAX_NAME, new_item


def test_a_new_item_keeps_its_trimmed_name() -> None:
    tenant = uuid4()
    item = new_item(tenant, "  a name ")
    assert (item.tenant_id, item.name) == (tenant, "a name")
    assert new_item(tenant, "x").id != new_item(tenant, "x").id


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "name_blank"), (" \t", "name_blank"), ("x" * (MAX_NAME + 1), "name_too_long")],
)
def test_a_bad_name_is_refused_naming_the_field(name: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        new_item(uuid4(), name)
    assert (refused.value.code, refused.value.field, refused.value.kind) == (
        code,
        "name",
        Kind.INVALID,
    )
