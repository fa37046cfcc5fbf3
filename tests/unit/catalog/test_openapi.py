"""OpenAPI documents as tool drafts (`domain/openapi.py`): mapping, $ref inlining, and
the bounds that keep a hostile document from hanging the import."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_catalog.domain import openapi
from agentsuite_catalog.domain.bindings import HttpSpec
from agentsuite_catalog.domain.tools import spec_of
from agentsuite_contracts.catalog import SideEffect
from agentsuite_kit.errors import Invalid
from tests.unit.catalog.openapi_docs import many, petstore_30, petstore_31, with_schema

OPTIONS = openapi.Options()


def by_name(planned: list[openapi.Planned]) -> dict[str | None, openapi.Planned]:
    return {p.name: p for p in planned}


def refused(document: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        openapi.plan(document, OPTIONS)
    return caught.value


def test_petstore_30_maps_every_operation() -> None:
    planned = openapi.plan(petstore_30(), OPTIONS)
    assert [p.operation for p in planned] == [
        "GET /pets",
        "POST /pets",
        "HEAD /pets",
        "GET /pets/{petId}",
        "DELETE /pets/{petId}",
    ]
    found = by_name(planned)
    listing = found["list_pets"].draft
    assert listing is not None
    assert listing.binding == HttpSpec(
        "https://eu.petstore.example.com/v1/pets", "GET", {}, None, {"limit": "query"}
    )
    assert listing.side_effect == SideEffect.READ_ONLY
    assert listing.description == "List all pets"
    assert listing.tags == ("pets",)
    # 3.0's boolean exclusiveMinimum becomes 2020-12's number
    assert listing.input_schema["properties"]["limit"]["exclusiveMinimum"] == 0
    assert "minimum" not in listing.input_schema["properties"]["limit"]
    # the $ref'd array of $ref'd pets, inlined; nullable -> a type list
    assert listing.output_schema["items"]["properties"]["tag"]["type"] == ["string", "null"]
    create = found["create_pets"].draft
    assert create is not None
    assert create.input_schema["required"] == ["body"]
    assert create.input_schema["properties"]["body"]["required"] == ["id", "name"]
    assert create.side_effect == SideEffect.NON_IDEMPOTENT
    show = found["show_pet_by_id"].draft
    assert show is not None
    assert show.input_schema["required"] == ["petId"]
    assert show.binding == HttpSpec(
        "https://eu.petstore.example.com/v1/pets/{petId}", "GET", {}, None, {"petId": "path"}
    )
    head = found["head_pets"]
    assert head.draft is None
    assert head.skipped is not None
    assert "HEAD" in head.skipped
    [missing] = [p for p in planned if p.name is None]
    assert missing.failure is not None
    assert missing.failure.code == "operation_id_missing"
    assert missing.failure.field == "$.paths['/pets/{petId}'].delete.operationId"
    # every draft is a valid tool spec (Draft 2020-12 schemas, a good binding)
    for p in planned:
        if p.draft is not None:
            assert p.name is not None
            spec_of(p.name, p.draft)


def test_petstore_31_keeps_2020_12_and_ref_siblings() -> None:
    found = by_name(openapi.plan(petstore_31(), OPTIONS))
    listing = found["list_pets"].draft
    assert listing is not None
    assert listing.input_schema["properties"]["limit"] == {
        "type": ["integer", "null"],
        "exclusiveMinimum": 0,
    }
    create = found["create_pet"].draft
    assert create is not None
    assert create.input_schema["properties"]["body"]["description"] == "The new pet"
    update = found["update_pet"].draft
    assert update is not None
    assert update.side_effect == SideEffect.IDEMPOTENT
    assert update.input_schema["required"] == ["petId"]  # the body is optional
    assert update.binding == HttpSpec(
        "https://petstore31.example.com/api/pets/{petId}", "PUT", {}, None, {"petId": "path"}
    )


def test_options_prefix_version_base_url() -> None:
    options = openapi.Options("2.1.0", "pets.", "https://other.example.com/x/", "animals")
    found = by_name(openapi.plan(petstore_31(), options))
    draft = found["pets.list_pets"].draft
    assert draft is not None
    assert draft.version == "2.1.0"
    assert draft.category == "animals"
    assert draft.binding == HttpSpec(
        "https://other.example.com/x/pets", "GET", {}, None, {"limit": "query"}
    )


def test_duplicate_operation_ids_fail_each_operation() -> None:
    document = petstore_31()
    document["paths"]["/pets/{petId}"]["put"]["operationId"] = "listPets"
    planned = openapi.plan(document, OPTIONS)
    failures = [p.failure for p in planned if p.failure is not None]
    assert [f.code for f in failures] == ["operation_id_duplicate"] * 2
    assert failures[1].field == "$.paths['/pets/{petId}'].put.operationId"
    assert by_name(planned)["create_pet"].draft is not None


def test_three_hundred_operations() -> None:
    planned = openapi.plan(many(300), OPTIONS)
    assert len(planned) == 300
    assert all(p.draft is not None for p in planned)


def test_too_many_operations_is_refused_before_validation() -> None:
    error = refused(many(25_000))
    assert error.code == "too_many_operations"
    assert error.field == "paths"


def test_invalid_document_names_the_place() -> None:
    document = petstore_31()
    document["paths"]["/pets"]["get"]["responses"] = "nope"
    error = refused(document)
    assert error.code == "openapi_invalid"
    assert error.field == "$.paths['/pets'].get.responses"


@pytest.mark.parametrize("version", [None, "2.0", "3.2.0", 3])
def test_other_versions_are_refused(version: Any) -> None:
    document = petstore_31()
    document["openapi"] = version
    assert refused(document).field == "openapi"


def test_alias_cycle_of_refs_is_refused_not_a_recursion() -> None:
    document = with_schema(
        {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}
    )
    error = refused(document)
    assert error.code == "ref_cycle"


def test_recursive_schema_fails_its_operation_only() -> None:
    tree = {"type": "object", "properties": {"kid": {"$ref": "#/components/schemas/A"}}}
    [planned] = openapi.plan(with_schema({"A": tree}), OPTIONS)
    assert planned.failure is not None
    assert planned.failure.code == "ref_cycle"
    assert planned.failure.field == "$.paths['/a'].post.requestBody"


def test_external_ref_is_refused_nothing_fetched() -> None:
    error = refused(with_schema({}, "https://169.254.169.254/latest/meta-data#/x"))
    assert error.code == "ref_external"


def test_exponential_refs_hit_the_node_budget() -> None:
    # each level names the next twice: 2**20 nodes inlined, were it not bounded
    schemas = {
        f"L{i}": {
            "type": "object",
            "properties": {
                "a": {"$ref": f"#/components/schemas/L{i + 1}"},
                "b": {"$ref": f"#/components/schemas/L{i + 1}"},
            },
        }
        for i in range(20)
    }
    schemas["L20"] = {"type": "string"}
    [planned] = openapi.plan(with_schema(schemas, "#/components/schemas/L0"), OPTIONS)
    assert planned.failure is not None
    assert planned.failure.code == "schema_too_large"


def test_relative_server_needs_base_url() -> None:
    document = petstore_31()
    document["servers"] = [{"url": "/api"}]
    error = refused(document)
    assert error.code == "server_relative"
    planned = openapi.plan(document, openapi.Options(base_url="https://h.example.com"))
    assert planned[0].draft is not None


def test_tool_name_is_snake_case() -> None:
    assert openapi.tool_name("listPets", "") == "list_pets"
    assert openapi.tool_name("get-user by id", "x.") == "x.get-user_by_id"
    assert openapi.tool_name("HTTPGetURL", "") == "httpget_url"
