"""planning templates (pure): matching against requirements, instantiation with parameters."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from agentsuite_contracts.catalog import TemplateSpec
from agentsuite_contracts.discovery import Finding, ObligationKind, ObligationStatus, Requirements
from agentsuite_kit.errors import Invalid
from agentsuite_planning.domain.templates import best, instantiate, requirement_terms, score


def _spec(key: str = "lead-qualification", **over: Any) -> TemplateSpec:
    base: dict[str, Any] = {
        "key": key,
        "name": "Lead qualification",
        "version": 1,
        "kind": "sales",
        "tags": ["leads", "crm"],
        "parameters_schema": {
            "type": "object",
            "properties": {
                "crm": {"type": "string", "maxLength": 100},
                "limit": {"type": "integer", "default": 10},
            },
            "required": ["crm"],
        },
        "definition": {
            "name": "Qualify leads from {{crm}}",
            "phases": [
                {
                    "key": "p",
                    "name": "P",
                    "steps": [
                        {
                            "key": "fetch",
                            "name": "Fetch",
                            "kind": "tool",
                            "tool": {"tool": "{{crm}}.leads", "input": {"limit": "{{limit}}"}},
                        }
                    ],
                }
            ],
        },
    }
    base.update(over)
    return TemplateSpec.model_validate(base)


def _requirements(goal: str) -> Requirements:
    return Requirements(
        objective="workflow",
        objective_version=1,
        goal=goal,
        findings=[
            Finding(
                obligation="source",
                title="Where leads come from",
                kind=ObligationKind.INPUT,
                required=True,
                status=ObligationStatus.SATISFIED,
                value="our CRM",
                confidence=1,
                required_confidence=0.5,
            )
        ],
        completeness=1,
    )


def test_a_template_whose_tags_the_requirements_say_matches() -> None:
    terms = requirement_terms(_requirements("qualify sales leads in the CRM"))
    assert score(_spec(), terms) >= 0.5
    assert score(_spec(kind="hr", tags=["hiring"], name="Onboarding", key="onboarding"), terms) == 0


def test_best_picks_the_highest_over_the_threshold() -> None:
    req = _requirements("qualify sales leads in the CRM")
    other = _spec("onboarding", kind="hr", tags=["hiring"], name="Onboarding")
    found = best([(uuid4(), other), (tid := uuid4(), _spec())], req)
    assert found is not None
    assert found.template_id == tid
    assert best([(uuid4(), other)], req) is None


def test_instantiation_replaces_placeholders_and_whole_values_keep_their_type() -> None:
    drafted = instantiate(_spec(), {"crm": "hubspot"})
    step = drafted.body.phases[0].steps[0]
    assert drafted.body.name == "Qualify leads from hubspot"
    assert step.tool is not None
    assert step.tool.tool == "hubspot.leads"
    assert step.tool.input == {"limit": 10}  # the schema's default, as an integer


def test_parameters_are_checked_against_the_schema() -> None:
    with pytest.raises(Invalid) as caught:
        instantiate(_spec(), {"crm": 5})
    assert caught.value.code == "invalid_parameters"
    assert "crm" in (caught.value.field or "")
    with pytest.raises(Invalid) as missing:
        instantiate(_spec(), {})
    assert missing.value.code == "invalid_parameters"


def test_a_substituted_value_is_not_expanded_again() -> None:
    drafted = instantiate(_spec(), {"crm": "{{crm}}{{crm}}"})
    assert drafted.body.name == "Qualify leads from {{crm}}{{crm}}"


def test_a_parameter_cannot_blow_the_plan_past_the_size_limit() -> None:
    spec = _spec(
        parameters_schema={"type": "object"},
        definition={"name": "{{x}}" * 200, "phases": []},
    )
    with pytest.raises(Invalid) as caught:
        instantiate(spec, {"x": "y" * 10_000}, max_bytes=900_000)
    assert caught.value.code == "too_large"


def test_an_unknown_placeholder_names_the_parameter() -> None:
    spec = _spec(parameters_schema={}, definition={"name": "{{nope}}", "phases": []})
    with pytest.raises(Invalid) as caught:
        instantiate(spec, {})
    assert caught.value.code == "missing_parameter"
    assert caught.value.field == "parameters.nope"
