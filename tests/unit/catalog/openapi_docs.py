"""OpenAPI documents the import tests use: the petstore files beside this module and
generated ones (many operations, hostile shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"
PETSTORE_30 = DATA / "petstore-3.0.yaml"
PETSTORE_31 = DATA / "petstore-3.1.json"


def petstore_30() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PETSTORE_30.read_text())
    return loaded


def petstore_31() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PETSTORE_31.read_text())
    return loaded


def many(count: int, server: str = "https://api.example.com") -> dict[str, Any]:
    """A 3.1 document of `count` GET operations sharing one $ref'd schema."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "many", "version": "1"},
        "servers": [{"url": server}],
        "paths": {
            f"/items{i}/{{id}}": {
                "get": {
                    "operationId": f"getItem{i}",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Item"}
                                }
                            },
                        }
                    },
                }
            }
            for i in range(count)
        },
        "components": {
            "schemas": {"Item": {"type": "object", "properties": {"id": {"type": "string"}}}}
        },
    }


def with_schema(
    schemas: dict[str, Any], body_ref: str = "#/components/schemas/A"
) -> dict[str, Any]:
    """One POST operation whose request body is `body_ref` into `schemas`."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/a": {
                "post": {
                    "operationId": "postA",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": body_ref}}}
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


def compact(count: int) -> dict[str, Any]:
    """`count` operations in as few bytes as a document allows: under the byte bound."""
    ok = {"200": {"description": "ok"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "c", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            f"/{i}": {"get": {"operationId": f"o{i}", "responses": ok}} for i in range(count)
        },
    }
