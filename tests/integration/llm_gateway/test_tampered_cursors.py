"""Every list route of the gateway (each GET with a `cursor` query parameter in its
OpenAPI), aimed at a populated tenant's real objects, answers a tampered cursor with a 400
`invalid_cursor` problem, or a 200 where the cursor is a well-formed key of that list;
never a 5xx."""

from __future__ import annotations

import httpx

from tests.integration.cursor_support import cursor_paths, walk
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.populate_support import populate
from tests.integration.llm_gateway.route_table import api_gates


async def test_tampered_cursors_are_400_on_every_list_route(gateway: Gateway) -> None:
    made = await populate(gateway)
    assert made.failed == [], "populate failed:\n" + "\n".join(made.failed)
    gates = {g.path: g for g in api_gates(gateway.app) if g.method == "GET"}
    urls = [gates[p].url(made.ids) for p in cursor_paths(gateway.app)]
    for url in urls:
        r = await gateway.client.get(url, headers=made.headers)
        assert r.status_code == 200, f"control: {url}: {r.status_code} {r.text[:200]}"

    async def call(url: str, cursor: str) -> httpx.Response:
        return await gateway.client.get(url, params={"cursor": cursor}, headers=made.headers)

    failures = await walk(call, urls)
    assert failures == [], f"{len(failures)} bad answers:\n" + "\n".join(failures)
