"""ETag helpers through a FastAPI app: 412 on a stale If-Match, 428 when it is missing,
304 on a matching If-None-Match, problem+json bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, Response
from pydantic import BaseModel

from agentsuite_kit.http import PROBLEM_MEDIA_TYPE, ProblemError, create_app
from agentsuite_kit.http.etag import Precondition, Tag, etag, if_match, not_modified, parse

from .helpers import client_for

pytestmark = pytest.mark.unit


class Item(BaseModel):
    name: str
    version: int


def build(store: dict[int, Item]) -> FastAPI:
    app = create_app("etag-test", "0")

    @app.get("/items/{item_id}", response_model=None)
    async def get(item_id: int, request: Request, response: Response) -> Item | Response:
        item = store[item_id]
        if (cached := not_modified(request, item.version)) is not None:
            return cached
        response.headers["ETag"] = etag(item.version)
        return item

    @app.put("/items/{item_id}")
    async def put(
        item_id: int,
        body: Item,
        pre: Annotated[Precondition, Depends(if_match())],
        response: Response,
    ) -> Item:
        current = store.get(item_id)
        pre.check(None if current is None else current.version)
        store[item_id] = Item(name=body.name, version=body.version + 1)
        response.headers["ETag"] = etag(store[item_id].version)
        return store[item_id]

    @app.patch("/items/{item_id}")
    async def patch(
        item_id: int, pre: Annotated[Precondition, Depends(if_match(required=False))]
    ) -> dict[str, int | None]:
        pre.check(store[item_id].version)
        return {"expected": pre.expected}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build({1: Item(name="a", version=3)})) as c:
        yield c


async def test_get_sends_strong_etag_of_version(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/1")
    assert (r.status_code, r.headers["ETag"]) == (200, '"3"')


@pytest.mark.parametrize("sent", ['"3"', 'W/"3"', '"1", "3"', "*"])
async def test_matching_if_none_match_answers_304_with_etag(
    client: httpx.AsyncClient, sent: str
) -> None:
    r = await client.get("/items/1", headers={"If-None-Match": sent})
    assert (r.status_code, r.headers["ETag"], r.content) == (304, '"3"', b"")


async def test_stale_if_none_match_answers_200(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/1", headers={"If-None-Match": '"2"'})
    assert r.status_code == 200


async def test_write_with_current_etag_succeeds(client: httpx.AsyncClient) -> None:
    r = await client.put("/items/1", json={"name": "b", "version": 3}, headers={"If-Match": '"3"'})
    assert (r.status_code, r.headers["ETag"]) == (200, '"4"')


@pytest.mark.parametrize("sent", ['"2"', 'W/"3"', '"33"'])
async def test_stale_or_weak_if_match_answers_412_with_current_etag(
    client: httpx.AsyncClient, sent: str
) -> None:
    r = await client.put("/items/1", json={"name": "b", "version": 3}, headers={"If-Match": sent})
    assert r.status_code == 412
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.headers["ETag"] == '"3"'
    assert r.json()["detail"].startswith("If-Match:")


async def test_missing_if_match_answers_428_when_required(client: httpx.AsyncClient) -> None:
    r = await client.put("/items/1", json={"name": "b", "version": 3})
    assert r.status_code == 428
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "If-Match" in r.json()["detail"]
    assert (await client.patch("/items/1")).json() == {"expected": None}  # optional there


async def test_if_match_star_needs_an_existing_resource(client: httpx.AsyncClient) -> None:
    headers = {"If-Match": "*"}
    assert (
        await client.put("/items/1", json={"name": "b", "version": 3}, headers=headers)
    ).is_success
    r = await client.put("/items/9", json={"name": "b", "version": 0}, headers=headers)
    assert r.status_code == 412
    assert "ETag" not in r.headers


async def test_malformed_if_match_answers_400_naming_the_header(client: httpx.AsyncClient) -> None:
    r = await client.patch("/items/1", headers={"If-Match": "3"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("If-Match:")


async def test_expected_version_is_given_for_one_strong_tag(client: httpx.AsyncClient) -> None:
    r = await client.patch("/items/1", headers={"If-Match": '"3"'})
    assert r.json() == {"expected": 3}


def test_parse_reads_lists_weak_tags_and_star() -> None:
    assert parse(' "a", W/"b" ,""', "If-Match") == [Tag("a"), Tag("b", weak=True), Tag("")]
    assert parse(" * ", "If-Match") == "*"
    with pytest.raises(ProblemError, match="If-None-Match"):
        parse('"a"b', "If-None-Match")


def test_a_tag_of_non_ascii_digits_asks_for_no_version() -> None:
    # "²".isdigit() is true, int("²") fails: such a tag is no version, not a 500
    for tag in ('"²"', '"1²"', '"¹³"'):
        assert Precondition(tag).expected is None


def test_ascii_int_reads_ascii_digits_only() -> None:
    from agentsuite_kit.http.numbers import HUGE, ascii_int

    assert ascii_int(" 42 ") == 42
    assert ascii_int("007") == 7
    for text in ("", "²", "1²", "٣", "-1", "+1", "1.0", "1 2"):
        assert ascii_int(text) is None
    # int() refuses more than 4,300 digits: such a length is merely huge
    assert ascii_int("9" * 5000) == HUGE
