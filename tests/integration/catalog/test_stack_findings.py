"""What a hostile curl session against catalog on a running `make up` stack found, each
pinned here through the real app."""

from __future__ import annotations

import subprocess
import sys
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


def test_the_app_starts_without_importing_the_mcp_sdk() -> None:
    """catalog missed `/readyz` within 5 s on the stack (11.5 s cold at load 6.5; 3.7 s of
    process CPU before ready): importing the `mcp` SDK is ~1 s of CPU of that, for a route
    (the MCP import) that most starts never serve; it is imported on that route's first
    call instead."""
    script = (
        "import importlib, sys\n"
        "from agentsuite_kit.service import find\n"
        "importlib.import_module(find('catalog').asgi_app.split(':')[0])\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout[:300]
