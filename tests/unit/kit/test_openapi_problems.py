"""The OpenAPI document describes errors as the kit answers them: problem+json.

No `from __future__ import annotations`: FastAPI must see the `Depends` of the routes.
"""

from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from agentsuite_kit.http import create_app
from agentsuite_kit.http.problems import MEDIA_TYPE


class Thing(BaseModel):
    name: str


BEARER = HTTPBearer(auto_error=False)


def _app() -> Any:
    app = create_app("t", "1")

    @app.post("/v1/things", status_code=201)
    async def make(thing: Thing, _: Annotated[Any, Depends(BEARER)]) -> Thing:
        return thing

    @app.patch("/v1/things/{thing_id}")
    async def change(
        thing_id: str, thing: Thing, if_match: Annotated[str | None, Header()] = None
    ) -> Thing:
        return thing

    @app.post(
        "/v1/token",
        responses={400: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def token() -> dict[str, str]:
        return {}

    return app


def _problem(op: dict[str, Any], code: str) -> bool:
    content: dict[str, Any] = op["responses"][code]["content"]
    return content == {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_errors_are_documented_as_problems() -> None:
    schema = _app().openapi()
    make = schema["paths"]["/v1/things"]["post"]
    assert {"401", "403", "409", "422", "500"} <= set(make["responses"])
    assert all(_problem(make, c) for c in ("401", "403", "409", "422", "500"))
    change = schema["paths"]["/v1/things/{thing_id}"]["patch"]
    assert {"404", "412", "422", "428"} <= set(change["responses"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "Problem" in schema["components"]["schemas"]


def test_a_route_documenting_its_own_errors_keeps_them() -> None:
    token = _app().openapi()["paths"]["/v1/token"]["post"]
    assert token["responses"]["400"]["content"] == {
        "application/json": {"schema": {"type": "object"}}
    }
