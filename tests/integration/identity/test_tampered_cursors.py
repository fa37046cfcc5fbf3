"""Every list route of identity (each GET with a `cursor` query parameter in its OpenAPI),
aimed at a populated tenant's real objects, answers a tampered cursor with a 400
`invalid_cursor` problem, or a 200 where the cursor is a well-formed key of that list;
never a 5xx."""

from __future__ import annotations

import httpx

from tests.integration.cursor_support import cursor_paths, walk
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import platform_token, populate
from tests.integration.identity.route_table import api_gates, path_ids


async def test_tampered_cursors_are_400_on_every_list_route(identity: Identity) -> None:
    made = await populate(identity)
    assert made.failed == [], "populate failed"
    platform = await platform_token(identity)
    gates = {g.path: g for g in api_gates(identity.app) if g.method == "GET"}
    urls: list[str] = []
    token_of: dict[str, str] = {}
    for path in cursor_paths(identity.app):
        gate = gates[path]
        url = gate.url(path_ids(gate, made.ids))
        # the route's own control: the tenant admin's, or for platform lists the platform's
        for tok in (made.token, platform):
            r = await identity.client.get(url, headers={"Authorization": f"Bearer {tok}"})
            if r.status_code == 200:
                token_of[url] = tok
                break
        assert url in token_of, f"control: {url} answers no caller 200"
        urls.append(url)

    async def call(url: str, cursor: str) -> httpx.Response:
        return await identity.client.get(
            url,
            params={"cursor": cursor},
            headers={"Authorization": f"Bearer {token_of[url]}"},
        )

    failures = await walk(call, urls)
    assert failures == [], f"{len(failures)} bad answers:\n" + "\n".join(failures)
