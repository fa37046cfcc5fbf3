"""A service assembled from the kit's runtime: HTTP -> unit of work -> outbox -> relay ->
broker -> consumer with inbox, behind JWT auth, with readiness and metrics."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import cast
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from agentsuite_kit.messaging.consumer import Outcome
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.runtime import ConsumerSpec, Runtime
from tests.integration.conftest import SampleDb
from tests.integration.jwks_support import (
    AUDIENCE,
    ISSUER,
    RSA_KEY,
    JwksServer,
    sign,
)
from tests.integration.kafka_helpers import effect_counts, eventually, fresh_topic
from tests.integration.sample.app import build
from tests.integration.sample.handlers import record_effect
from tests.integration.sample.messages import NoteAdded, sample_registry
from tests.integration.sample.settings import SampleSettings
from tests.integration.sample.uow import SampleUow


async def test_service_round_trip(
    sample_db: SampleDb,
    kafka_bootstrap: str,
    server: JwksServer,
    uow: Callable[..., SampleUow],
) -> None:
    topic = await fresh_topic(kafka_bootstrap)
    settings = SampleSettings(
        database_url=SecretStr(sample_db.app_url),
        kafka_bootstrap_servers=kafka_bootstrap,
        jwks_url=server.url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        notes_topic=topic,
        outbox_poll_interval=0.05,
    )
    app = build(settings)
    runtime = cast(Runtime[SampleUow], app.state.runtime)
    tenant = uuid4()
    writer = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["notes:*"])
    reader = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["notes:read"])

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as http:

            async def is_ready() -> bool:  # the relay reports healthy once it reached the db
                return (await http.get("/readyz")).status_code == 200

            await eventually(is_ready, within=30)
            ready = await http.get("/readyz")
            assert set(ready.json()["checks"]) == {
                "database",
                "broker",
                "relay",
                "consumers",
                "keys",
            }

            assert (await http.post("/v1/notes", json={"body": "x"})).status_code == 401
            forbidden = await http.post(
                "/v1/notes", json={"body": "x"}, headers={"Authorization": f"Bearer {reader}"}
            )
            assert forbidden.status_code == 403
            assert forbidden.headers["content-type"].startswith("application/problem+json")

            bad = await http.post(
                "/v1/notes", json={"body": ""}, headers={"Authorization": f"Bearer {writer}"}
            )
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["loc"][-1] == "body"

            created = await http.post(
                "/v1/notes", json={"body": "hello"}, headers={"Authorization": f"Bearer {writer}"}
            )
            assert created.status_code == 201, created.text
            listed = await http.get("/v1/notes", headers={"Authorization": f"Bearer {reader}"})
            assert listed.json() == ["hello"]

            [consumer] = runtime.consumers

            async def applied() -> bool:
                return consumer.counts[Outcome.APPLIED] == 1

            await eventually(applied)
            assert await effect_counts(uow, tenant) == (1, 1)

            metrics = (await http.get("/metrics")).text
            assert 'route="/v1/notes"' in metrics


async def test_consumer_groups_join_together_and_start_waits_for_all(
    sample_db: SampleDb, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each join lasts the broker's rebalance delay (5 s on Tansu): one after another, a
    # service with six groups took half a minute to start
    topic = await fresh_topic(kafka_bootstrap)
    settings = SampleSettings(
        database_url=SecretStr(sample_db.app_url),
        kafka_bootstrap_servers=kafka_bootstrap,
        notes_topic=topic,
        consumers_join_before_ready=True,
    )
    tag = secrets.token_hex(3)
    specs = [
        ConsumerSpec[SampleUow](
            name=f"together{i}-{tag}",
            topic=topic,
            handlers={NoteAdded: record_effect},
            registry=sample_registry(topic),
        )
        for i in range(3)
    ]
    events: list[tuple[str, str]] = []
    start = ConsumerGroup.start

    async def recorded(group: ConsumerGroup[SampleUow], *, wait: bool = True) -> None:
        events.append(("joining", group.consumer.group))
        await start(group, wait=wait)
        events.append(("joined", group.consumer.group))

    monkeypatch.setattr(ConsumerGroup, "start", recorded)
    runtime = Runtime[SampleUow](settings, uow=SampleUow, consumers=specs)
    await runtime.start()
    try:
        # every join under way before the first one completes
        assert [kind for kind, _ in events[: len(specs)]] == ["joining"] * len(specs), events
        # and the start returned only once every group had joined, as before
        assert sorted(g for kind, g in events if kind == "joined") == sorted(
            g.consumer.group for g in runtime.groups
        )
        assert len(runtime.groups) == len(specs)
    finally:
        await runtime.stop()
