"""What an imported operation needs to be called: where each parameter goes
(`config.params`, which execution's http binding reads) and the credential its security
requirement asks for (`auth`, by the secret name the import was given)."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_catalog.domain import openapi
from agentsuite_catalog.domain.bindings import Auth, HttpSpec, binding_of
from agentsuite_contracts.catalog import AuthScheme
from agentsuite_kit.errors import Invalid
from tests.unit.catalog.openapi_docs import petstore_30, petstore_31


def drafts(document: dict[str, Any], **options: Any) -> dict[str, openapi.Planned]:
    return {p.name or p.operation: p for p in openapi.plan(document, openapi.Options(**options))}


def config_of(planned: openapi.Planned) -> dict[str, Any]:
    assert planned.draft is not None, planned.failure
    return dict(binding_of(planned.draft.binding).contract.config)


def test_each_parameter_is_recorded_with_its_place() -> None:
    found = drafts(petstore_30())
    assert config_of(found["list_pets"])["params"] == {"limit": "query"}
    assert config_of(found["show_pet_by_id"])["params"] == {"petId": "path"}
    # no parameters: still split (the input's `body` is the JSON body)
    assert config_of(found["create_pets"])["params"] == {}


def with_parameters(*parameters: dict[str, Any]) -> dict[str, Any]:
    document = petstore_31()
    document["paths"]["/pets/{petId}"]["put"]["parameters"] += list(parameters)
    return document


def test_header_parameters_are_recorded_and_ones_openapi_ignores_are_dropped() -> None:
    document = with_parameters(
        {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
        {"name": "Accept", "in": "header", "schema": {"type": "string"}},
        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
    )
    update = drafts(document)["update_pet"]
    assert config_of(update)["params"] == {"petId": "path", "X-Request-Id": "header"}
    assert update.draft is not None
    assert set(update.draft.input_schema["properties"]) == {"petId", "X-Request-Id", "body"}


def test_a_required_parameter_no_call_can_send_fails_its_operation() -> None:
    for parameter in (
        {"name": "session", "in": "cookie", "required": True, "schema": {"type": "string"}},
        {"name": "Host", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "X-Agentsuite-Step", "in": "header", "required": True},
    ):
        parameter.setdefault("schema", {"type": "string"})
        update = drafts(with_parameters(parameter))["update_pet"]
        assert update.failure is not None
        assert update.failure.code == "parameter_unsendable", parameter


def secured(scheme: dict[str, Any]) -> dict[str, Any]:
    document = petstore_31()
    document["components"]["securitySchemes"] = {"main": scheme}
    document["security"] = [{"main": []}]
    document["paths"]["/pets"]["get"]["security"] = []  # this one is public
    return document


@pytest.mark.parametrize(
    ("scheme", "auth"),
    [
        ({"type": "http", "scheme": "bearer"}, Auth(AuthScheme.BEARER, "pets-token")),
        ({"type": "http", "scheme": "Basic"}, Auth(AuthScheme.BASIC, "pets-token")),
        (
            {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            Auth(AuthScheme.HEADER, "pets-token", "X-Api-Key"),
        ),
        (
            {"type": "apiKey", "in": "query", "name": "key"},
            Auth(AuthScheme.QUERY, "pets-token", "key"),
        ),
        ({"type": "oauth2", "flows": {}}, Auth(AuthScheme.BEARER, "pets-token")),
    ],
)
def test_security_requirements_become_the_binding_auth_by_secret_name(
    scheme: dict[str, Any], auth: Auth
) -> None:
    found = drafts(secured(scheme), credential="pets-token")
    create, listing = found["create_pet"].draft, found["list_pets"].draft
    assert create is not None, found["create_pet"].failure
    assert listing is not None
    assert isinstance(create.binding, HttpSpec)
    assert isinstance(listing.binding, HttpSpec)
    assert create.binding.auth == auth
    assert listing.binding.auth is None  # `security: []` asks for none


def test_without_a_credential_no_auth_is_recorded() -> None:
    found = drafts(secured({"type": "http", "scheme": "bearer"}))
    create = found["create_pet"].draft
    assert create is not None
    assert isinstance(create.binding, HttpSpec)
    assert create.binding.auth is None


def test_a_security_scheme_no_call_can_present_fails_its_operation() -> None:
    scheme = {"type": "apiKey", "in": "cookie", "name": "sid"}
    found = drafts(secured(scheme), credential="pets-token")
    failure = found["create_pet"].failure
    assert failure is not None
    assert failure.code == "security_unsupported"
    assert found["list_pets"].draft is not None


@pytest.mark.parametrize(
    ("url", "params", "code"),
    [
        ("https://h.example.com/p/{id}", {}, "params_url_mismatch"),
        ("https://h.example.com/p", {"id": "path"}, "params_url_mismatch"),
        ("https://h.example.com/p", {"id": "cookie"}, "param_place_invalid"),
        ("https://h.example.com/p", {"Authorization": "header"}, "header_reserved"),
        ("https://h.example.com/p", {"Content-Type": "header"}, "header_reserved"),
        ("https://h.example.com/p", {"X-Agentsuite-Step": "header"}, "header_reserved"),
        ("https://h.example.com/p", {"X-Fixed": "header"}, "header_reserved"),
    ],
)
def test_params_a_call_could_not_send_are_refused_at_registration(
    url: str, params: dict[str, str], code: str
) -> None:
    spec = HttpSpec(url, "POST", {"X-Fixed": "1"}, None, params)
    with pytest.raises(Invalid) as caught:
        binding_of(spec)
    assert (caught.value.code, caught.value.field) == (
        code,
        "binding.params" + ("" if code == "params_url_mismatch" else f".{next(iter(params))}"),
    )


def test_a_path_parameter_named_with_a_dash_is_imported() -> None:
    document = petstore_31()
    item = document["paths"].pop("/pets/{petId}")
    item["put"]["parameters"][0]["name"] = "pet-id"
    document["paths"]["/pets/{pet-id}"] = item
    update = drafts(document)["update_pet"]
    assert config_of(update)["params"] == {"pet-id": "path"}
