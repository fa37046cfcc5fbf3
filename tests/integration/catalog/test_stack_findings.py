"""What a hostile curl session against catalog on a running `make up` stack found, each
pinned here through the real app."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.catalog.harness import Service, auth


async def test_a_stale_if_match_on_an_agent_revision_is_a_412_not_a_lost_update(
    service: Service,
) -> None:
    """Two editors on revision 1: the second one's If-Match names a revision that is no
    longer the newest, so its write would silently replace the first one's. It was
    accepted (201) and the agent had no ETag to send."""
    tenant = uuid4()
    body = {"name": "writer", "instructions": "be kind", "model": "fast"}
    made = await service.client.post("/v1/agents", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    url = f"/v1/agents/{made.json()['agent_id']}"
    read = await service.client.get(url, headers=auth(tenant))
    assert read.headers.get("etag") == '"1"', read.headers
    edit = {"instructions": "be terse", "model": "fast"}
    first = await service.client.post(
        f"{url}/revisions", json=edit, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert (first.status_code, first.json()["number"]) == (201, 2), first.text
    second = await service.client.post(
        f"{url}/revisions",
        json=edit | {"instructions": "be loud"},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert second.status_code == 412, second.text
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.headers["etag"] == '"2"'
    newest = await service.client.get(f"{url}/revisions/2", headers=auth(tenant))
    assert newest.json()["spec"]["instructions"] == "be terse"
    assert (await service.client.get(url, headers=auth(tenant))).json()["revisions"] == 2
    # without If-Match a revision is still made (clients that never read the ETag)
    blind = await service.client.post(f"{url}/revisions", json=edit, headers=auth(tenant))
    assert (blind.status_code, blind.json()["number"]) == (201, 3), blind.text
