"""Every planning `/v1` route asks for a bearer token, except the ones `PUBLIC` lists with
the reason (the webhook: its Standard Webhooks signature is the credential). A route added
later without a gate fails here, so an open route is never silent."""

from __future__ import annotations

from agentsuite_planning.api.deliveries import PUBLIC
from tests.integration.identity.route_table import gates
from tests.integration.planning.harness import Service


async def test_only_the_listed_routes_need_no_token(service: Service) -> None:
    found = gates(service.app)
    open_routes = {g.name for g in found if g.path.startswith("/v1") and not g.authenticated}
    assert open_routes == set(PUBLIC)
    r = await service.client.post("/v1/triggers", json={})
    assert r.status_code == 401, r.text
