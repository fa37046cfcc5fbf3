"""`POST /v1/tools/import/openapi` through the real app: a petstore document (3.0 YAML,
3.1 JSON, an uploaded file), hundreds of operations in one request, and hostile documents
refused with a 422 naming the place, the database left as it was."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import yaml

from agentsuite_catalog.api.imports import MAX_DOCUMENT
from agentsuite_contracts.catalog import ToolRegistered
from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.tools_support import tool_events
from tests.unit.catalog.openapi_docs import (
    PETSTORE_30,
    compact,
    many,
    petstore_31,
    with_schema,
)

IMPORT = "/v1/tools/import/openapi"
YAML = {"content-type": "application/yaml"}


def problem(r: Any, status: int = 422) -> tuple[str, str | None]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    return body["code"], body.get("field")


async def tool_count(service: Service, tenant: UUID) -> int:
    [row] = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    return int(row[0])


async def test_petstore_30_yaml_imports_with_a_report(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post(
        IMPORT, content=PETSTORE_30.read_bytes(), headers=auth(tenant) | YAML
    )
    assert r.status_code == 200, r.text
    report = r.json()
    outcomes = {o["operation"]: o for o in report["operations"]}
    assert (report["created"], report["skipped"], report["failed"]) == (3, 1, 1)
    assert outcomes["GET /pets"]["outcome"] == "created"
    assert outcomes["GET /pets"]["name"] == "list_pets"
    assert outcomes["HEAD /pets"]["outcome"] == "skipped"
    missing = outcomes["DELETE /pets/{petId}"]
    assert (missing["outcome"], missing["code"], missing["field"]) == (
        "failed",
        "operation_id_missing",
        "$.paths['/pets/{petId}'].delete.operationId",
    )
    made = outcomes["GET /pets/{petId}"]
    got = await service.client.get(
        f"/v1/tools/{made['tool_id']}/versions/1.0.0", headers=auth(tenant)
    )
    assert got.status_code == 200, got.text
    spec = got.json()["spec"]
    assert spec["binding"]["kind"] == "http"
    assert spec["binding"]["target"] == "https://eu.petstore.example.com/v1/pets/{petId}"
    assert spec["input_schema"]["required"] == ["petId"]
    assert spec["output_schema"]["properties"]["tag"]["type"] == ["string", "null"]
    # the import published what a registration does, in one go
    [event] = await tool_events(service, made["tool_id"], 1)
    assert isinstance(event.payload, ToolRegistered)
    assert event.payload.spec.name == "show_pet_by_id"
    # a second import of the same document skips what exists
    again = await service.client.post(
        IMPORT, content=PETSTORE_30.read_bytes(), headers=auth(tenant) | YAML
    )
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["skipped"]) == (0, 4)
    assert await tool_count(service, tenant) == 3


async def test_petstore_31_json_and_an_upload(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post(
        IMPORT,
        json=petstore_31(),
        params={"prefix": "p31.", "version": "2.0.0"},
        headers=auth(tenant),
    )
    assert r.status_code == 200, r.text
    assert [o["name"] for o in r.json()["operations"]] == [
        "p31.list_pets",
        "p31.create_pet",
        "p31.update_pet",
    ]
    assert {o["version"] for o in r.json()["operations"]} == {"2.0.0"}
    upload = await service.client.post(
        IMPORT,
        files={"document": ("petstore.json", json.dumps(petstore_31()), "application/json")},
        headers=auth(tenant),
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["created"] == 3


async def test_three_hundred_operations_in_one_request(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post(IMPORT, json=many(300), headers=auth(tenant))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 300
    assert await tool_count(service, tenant) == 300
    listed = await service.client.get(
        "/v1/search", params={"q": "get_item299"}, headers=auth(tenant)
    )
    assert listed.status_code == 200, listed.text
    assert any(i["name"] == "get_item299" for i in listed.json()["items"])


async def test_hostile_documents_are_refused_and_change_nothing(service: Service) -> None:
    tenant = uuid4()
    headers = auth(tenant)
    invalid = petstore_31()
    invalid["paths"]["/pets"]["get"]["responses"] = "nope"
    assert problem(await service.client.post(IMPORT, json=invalid, headers=headers)) == (
        "openapi_invalid",
        "$.paths['/pets'].get.responses",
    )
    cycle = with_schema(
        {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}
    )
    assert problem(await service.client.post(IMPORT, json=cycle, headers=headers))[0] == "ref_cycle"
    # 25,000 operations: past the operation bound when compact, past the byte bound when not
    dense = compact(25_000)
    assert len(json.dumps(dense)) < MAX_DOCUMENT
    assert problem(await service.client.post(IMPORT, json=dense, headers=headers)) == (
        "too_many_operations",
        "paths",
    )
    assert len(json.dumps(many(25_000))) > MAX_DOCUMENT
    huge = await service.client.post(IMPORT, json=many(25_000), headers=headers)
    assert problem(huge, 413)[0] == "body_too_large"
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert problem(await service.client.post(IMPORT, content=bomb, headers=headers | YAML)) == (
        "document_unparsable",
        "document",
    )
    local = many(2, server="http://127.0.0.1:9")
    assert problem(await service.client.post(IMPORT, json=local, headers=headers)) == (
        "url_blocked",
        "servers[0].url",
    )
    text = await service.client.post(
        IMPORT,
        content=yaml.safe_dump(petstore_31()),
        headers=headers | {"content-type": "text/plain"},
    )
    assert problem(text)[0] == "media_type_unsupported"
    assert await tool_count(service, tenant) == 0


async def test_a_tool_failing_its_spec_leaves_the_others(service: Service) -> None:
    tenant = uuid4()
    document = petstore_31()
    document["paths"]["/pets"]["get"]["summary"] = "x" * 5_000  # cut to the bound, kept
    document["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "type": "nonsense"
    }
    r = await service.client.post(IMPORT, json=document, headers=auth(tenant))
    assert r.status_code == 200, r.text
    outcomes = {o["name"]: o for o in r.json()["operations"]}
    assert outcomes["list_pets"]["outcome"] == "created"
    assert outcomes["create_pet"]["outcome"] == "failed"
    assert outcomes["create_pet"]["field"].startswith("input_schema")
    assert outcomes["update_pet"]["outcome"] == "created"


YAML_TYPES = """
openapi: 3.0.3
info: {title: dates, version: 1.0.0}
servers: [{url: "https://api.example.com"}]
paths:
  /days:
    get:
      operationId: listDays
      parameters:
        - {name: since, in: query, schema: {type: string, format: date, example: 2024-01-31}}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: string, default: 2024-02-01}}
"""


async def test_yaml_scalars_become_json(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post(IMPORT, content=YAML_TYPES, headers=auth(tenant) | YAML)
    assert r.status_code == 200, r.text
    [made] = r.json()["operations"]
    assert made["outcome"] == "created", made
    got = await service.client.get(
        f"/v1/tools/{made['tool_id']}/versions/1.0.0", headers=auth(tenant)
    )
    spec = got.json()["spec"]
    assert spec["input_schema"]["properties"]["since"]["example"] == "2024-01-31"
    assert spec["output_schema"]["items"]["default"] == "2024-02-01"  # the unquoted 200 read
    binary = "openapi: 3.0.3\ninfo: {title: b, version: '1'}\npaths: {}\nx-b: !!binary aGk=\n"
    refused = await service.client.post(IMPORT, content=binary, headers=auth(tenant) | YAML)
    assert problem(refused) == ("document_unparsable", "document")


async def test_nan_and_infinity_are_refused(service: Service) -> None:
    tenant = uuid4()
    document = json.dumps(petstore_31())  # NaN is no JSON, though Python's parser takes it
    document = document.replace('"type": "integer"', '"type": "integer", "example": NaN', 1)
    r = await service.client.post(
        IMPORT, content=document, headers=auth(tenant) | {"content-type": "application/json"}
    )
    assert problem(r) == ("document_unparsable", "document")
    infinite = PETSTORE_30.read_text().replace("maximum: 100", "maximum: .inf", 1)
    r = await service.client.post(IMPORT, content=infinite, headers=auth(tenant) | YAML)
    assert problem(r) == ("document_unparsable", "document")
    assert await tool_count(service, tenant) == 0
