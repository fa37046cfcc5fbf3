"""A hostile user's objectives: writers racing on one version."""

from __future__ import annotations

import asyncio

from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import NOTIFY, User, with_objective


async def test_puts_racing_on_one_if_match_write_one_version_and_the_rest_are_412(
    service: Service,
) -> None:
    user = User(service)
    await with_objective(user)
    body = {k: v for k, v in NOTIFY.items() if k != "key"}
    headers = user.headers(**{"If-Match": '"1"'})
    replies = await asyncio.gather(
        *[service.client.put("/v1/objectives/notify", json=body, headers=headers) for _ in range(8)]
    )
    # each was written on top of version 1, which is no longer the newest once one won:
    # the precondition failed, whichever way the loser found out
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] + [412] * 7, [r.text for r in replies]
    assert {r.json()["code"] for r in replies if r.status_code == 412} == {"version_mismatch"}
    newest = await user.get("/v1/objectives/notify")
    assert newest.json()["version"] == 2
