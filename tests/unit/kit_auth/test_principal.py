from __future__ import annotations

import uuid

import pytest

from agentsuite_kit.auth import AuthCode, AuthError, Principal, PrincipalKind, capability_matches

pytestmark = pytest.mark.unit

TENANT = uuid.uuid4()


def claims(**extra: object) -> dict[str, object]:
    return {"sub": "u-1", "tid": str(TENANT), **extra}


def tenantless(**extra: object) -> dict[str, object]:
    raw = claims(**extra)
    del raw["tid"]
    return raw


@pytest.mark.parametrize(
    ("granted", "wanted", "expected"),
    [
        ("plans:approve", "plans:approve", True),
        ("plans:approve", "plans:read", False),
        ("plans:*", "plans:approve", True),
        ("plans:*", "plans:steps:edit", True),
        ("plans:*", "plans", False),
        ("plans:*", "plansx:read", False),
        ("planning:*", "plans:read", False),
        ("*", "anything:at:all", True),
        ("plans", "plans:read", False),
    ],
)
def test_capability_matches(granted: str, wanted: str, expected: bool) -> None:
    assert capability_matches(granted, wanted) is expected


def test_principal_from_caps_and_scope() -> None:
    p = Principal.from_claims(claims(caps=["plans:*"], scope="runs:read runs:write"))
    assert p.subject == "u-1"
    assert p.tenant_id == TENANT
    assert p.kind is PrincipalKind.USER
    assert p.capabilities == frozenset({"plans:*", "runs:read", "runs:write"})
    assert p.has("plans:approve")
    assert p.has_all("plans:approve", "runs:read")
    assert p.missing("plans:approve", "runs:delete") == ["runs:delete"]
    assert p.claims["sub"] == "u-1"


def test_principal_kind_and_no_capabilities() -> None:
    p = Principal.from_claims(claims(kind="service"))
    assert p.kind is PrincipalKind.SERVICE
    assert p.capabilities == frozenset()
    assert not p.has("plans:read")


def test_principal_is_frozen() -> None:
    p = Principal.from_claims(claims())
    with pytest.raises(ValueError, match="frozen"):
        p.subject = "someone-else"  # type: ignore[misc]  # proving the runtime refuses it


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"tid": "not-a-uuid"}, AuthCode.INVALID_CLAIM),
        ({"tid": "not-a-uuid", "kind": "platform"}, AuthCode.INVALID_CLAIM),
        ({"sub": ""}, AuthCode.MISSING_CLAIM),
        ({"kind": "robot"}, AuthCode.INVALID_CLAIM),
        ({"caps": "plans:read"}, AuthCode.INVALID_CLAIM),
        ({"caps": ["ok", 3]}, AuthCode.INVALID_CLAIM),
        ({"scope": ["plans:read"]}, AuthCode.INVALID_CLAIM),
    ],
)
def test_principal_rejects_bad_claims(bad: dict[str, object], code: AuthCode) -> None:
    with pytest.raises(AuthError) as caught:
        Principal.from_claims(claims(**bad))
    assert caught.value.code is code


@pytest.mark.parametrize("kind", [None, "user", "api_key"])
def test_user_and_api_key_principals_require_a_tenant(kind: str | None) -> None:
    raw = tenantless() if kind is None else tenantless(kind=kind)
    with pytest.raises(AuthError) as caught:
        Principal.from_claims(raw)
    assert caught.value.code is AuthCode.MISSING_CLAIM
    assert "tid" in caught.value.detail


@pytest.mark.parametrize("kind", [PrincipalKind.SERVICE, PrincipalKind.PLATFORM])
def test_service_and_platform_principals_may_omit_the_tenant(kind: PrincipalKind) -> None:
    p = Principal.from_claims(tenantless(kind=kind.value, caps=["audit:read"]))
    assert p.kind is kind
    assert p.tenant_id is None
    assert p.has("audit:read")


def test_service_principal_may_carry_a_tenant() -> None:
    p = Principal.from_claims(claims(kind="service"))
    assert p.tenant == TENANT


def test_tenant_of_a_tenant_principal_is_its_uuid() -> None:
    assert Principal.from_claims(claims()).tenant == TENANT


def test_tenant_of_a_tenantless_principal_raises_tenant_required() -> None:
    p = Principal.from_claims(tenantless(kind="platform"))
    with pytest.raises(AuthError) as caught:
        _ = p.tenant
    assert caught.value.code is AuthCode.TENANT_REQUIRED


def test_the_org_claim_scopes_the_principal_to_that_org() -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    scoped = Principal.from_claims(claims(org=str(org)))
    assert scoped.org_id == org
    assert scoped.reaches(org)
    assert not scoped.reaches(other)
    assert not scoped.reaches(None)  # the tenant's own objects are outside an org's scope
    whole = Principal.from_claims(claims())
    assert whole.org_id is None
    assert whole.reaches(org)
    assert whole.reaches(None)


@pytest.mark.parametrize("raw", [claims(org="not-a-uuid"), tenantless(org=str(uuid.uuid4()))])
def test_a_bad_org_claim_is_refused(raw: dict[str, object]) -> None:
    if "tid" not in raw:
        raw["kind"] = "service"
    with pytest.raises(AuthError) as caught:
        Principal.from_claims(raw)
    assert caught.value.code is AuthCode.INVALID_CLAIM
