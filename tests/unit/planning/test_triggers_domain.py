"""The trigger rules: which version a delivery runs, why it runs none, the spec's target,
the secret's shape and the grace of a rotated secret."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from agentsuite_contracts.planning import TriggerKind, TriggerSpec
from agentsuite_kit.errors import Invalid
from agentsuite_planning.domain.triggers import (
    PlanTarget,
    Refusal,
    Trigger,
    changed,
    check_delivery_id,
    check_spec,
    new_secret,
    previous_accepted,
    resolve,
)

PLAN = uuid4()


def spec(**kw: object) -> TriggerSpec:
    return TriggerSpec.model_validate({"plan_id": PLAN, "kind": "webhook", **kw})


def target(**kw: object) -> PlanTarget:
    values: dict[str, object] = {
        "archived": False,
        "stale": False,
        "approved": frozenset({1, 2}),
        "labels": {"production": 2},
    }
    values.update(kw)
    return PlanTarget(**values)  # type: ignore[arg-type]  # the test's own keyword mix


@pytest.mark.parametrize(
    ("given", "plan", "expected"),
    [
        (spec(plan_version=1), target(), 1),
        (spec(label="production"), target(), 2),
        (spec(plan_version=1), None, Refusal.PLAN_NOT_FOUND),
        (spec(plan_version=1), target(archived=True), Refusal.PLAN_ARCHIVED),
        (spec(plan_version=1), target(stale=True), Refusal.PLAN_STALE),
        (spec(plan_version=3), target(), Refusal.VERSION_NOT_APPROVED),
        (spec(label="staging"), target(), Refusal.LABEL_UNSET),
        (spec(label="production"), target(approved=frozenset({1})), Refusal.VERSION_NOT_APPROVED),
    ],
)
def test_resolve(given: TriggerSpec, plan: PlanTarget | None, expected: int | Refusal) -> None:
    assert resolve(given, plan) == expected


def test_a_spec_names_exactly_one_well_formed_target() -> None:
    for bad in (spec(), spec(plan_version=1, label="production")):
        with pytest.raises(Invalid, match="exactly one"):
            check_spec(bad)
    with pytest.raises(Invalid) as raised:
        check_spec(spec(label="Prod!"))
    assert raised.value.code == "invalid_label"


def test_a_kind_never_changes() -> None:
    trigger = Trigger(uuid4(), uuid4(), spec(plan_version=1), 1)
    with pytest.raises(Invalid):
        changed(trigger, spec(plan_version=1, kind=TriggerKind.API))
    assert changed(trigger, spec(label="production")).revision == 2


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    one, two = new_secret(), new_secret()
    assert one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"), validate=True)) == 32


def test_the_previous_secret_lasts_until_its_grace_ends() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert previous_accepted(now + timedelta(seconds=1), now)
    assert not previous_accepted(now, now)
    assert not previous_accepted(None, now)


@pytest.mark.parametrize("value", ["", "a b", "x" * 201, "é", "a\x00"])
def test_a_delivery_id_is_bounded_printable_ascii(value: str) -> None:
    with pytest.raises(Invalid):
        check_delivery_id(value, "webhook-id")
