"""Sign-ins, failed sign-ins, lockouts, sign-outs and refresh-token reuse are events on
`identity.sessions.v1`, read back from the real broker: who, from which address and user
agent, and never the password. A failed sign-in commits its event although the grant
fails. X-Forwarded-For names the client only behind a configured trusted proxy."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.registry import decode
from agentsuite_contracts.topic_names import IDENTITY_SESSIONS_V1
from tests.integration.identity.harness import Identity, make_settings, running
from tests.integration.identity.test_tokens import password_token, password_user

TOPIC = IDENTITY_SESSIONS_V1


class Topic:
    """Everything on the sessions topic, read from the start, raw and decoded."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            TOPIC, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        self.raw: list[bytes] = []
        self.events: list[Envelope[Any]] = []

    async def wait_for(
        self, match: Callable[[Envelope[Any]], bool], count: int = 1, within: float = 60.0
    ) -> list[Envelope[Any]]:
        """The events `match` accepts, once there are `count` of them (a hang guard only)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = [e for e in self.events if match(e)]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [(e.type, e.payload) for e in self.events[-20:]]
                raise AssertionError(f"{count} matching events not read within {within}s: {seen}")
            batch = await self.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    assert record.value is not None
                    self.raw.append(record.value)
                    self.events.append(decode(TOPIC, record.value))


@asynccontextmanager
async def sessions_topic(bootstrap: str) -> AsyncIterator[Topic]:
    topic = Topic(bootstrap)
    await topic.consumer.start()
    try:
        yield topic
    finally:
        await topic.consumer.stop()


@asynccontextmanager
async def client(app: Any, address: str, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://identity", headers=headers
    ) as http:
        yield http


def address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def never_the_password(topic: Topic, *passwords: str) -> None:
    for raw in topic.raw:
        for password in passwords:
            assert password.encode() not in raw


async def test_sign_in_and_sign_out_say_who_from_where(identity: Identity) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    tenant, slug, user, email = await password_user(identity, password=password)
    agent, peer = f"agent-{secrets.token_hex(4)}", address()
    async with sessions_topic(identity.settings.kafka_bootstrap_servers) as topic:
        async with client(identity.app, peer, **{"User-Agent": agent}) as http:
            answer = await password_token(http, username=email, password=password, tenant=slug)
            assert answer.status_code == 200, answer.text
            out = await http.post("/v1/revoke", data={"token": answer.json()["refresh_token"]})
            assert out.status_code == 200
        [signed_in] = await topic.wait_for(
            lambda e: e.type == "identity.session.signed_in" and e.payload.user_id == user
        )
        assert signed_in.tenant_id == tenant
        assert (signed_in.payload.client_address, signed_in.payload.user_agent) == (peer, agent)
        [signed_out] = await topic.wait_for(
            lambda e: e.type == "identity.session.revoked" and e.payload.user_id == user
        )
        assert signed_out.payload.reason == "logout"
        assert signed_out.payload.family_id == signed_in.payload.family_id
        assert (signed_out.payload.client_address, signed_out.payload.user_agent) == (peer, agent)
        never_the_password(topic, password)


async def test_failed_sign_ins_and_the_lockout_are_events(identity: Identity) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    tenant, slug, user, email = await password_user(identity, password=password)
    wrong = [f"wrong-{secrets.token_hex(8)}" for _ in range(identity.settings.login_max_failures)]
    peer, agent = address(), f"agent-{secrets.token_hex(4)}"
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    async with sessions_topic(identity.settings.kafka_bootstrap_servers) as topic:
        async with client(identity.app, peer, **{"User-Agent": agent}) as http:
            for attempt in wrong:
                answer = await password_token(http, username=email, password=attempt, tenant=slug)
                assert answer.status_code == 400
            # locked now: even the right password is refused (no event: the lock was one,
            # see test_locked_sign_ins)
            locked = await password_token(http, username=email, password=password, tenant=slug)
            assert locked.status_code == 400
            nobody = await password_token(http, username=unknown, password=password, tenant=slug)
            assert nobody.status_code == 400

        def failed_as(reason: str) -> Callable[[Envelope[Any]], bool]:
            return lambda e: (
                e.type == "identity.session.sign_in_failed"
                and e.payload.email == email.lower()
                and e.payload.reason == reason
            )

        failures = await topic.wait_for(failed_as("invalid_credentials"), count=len(wrong))
        for event in failures:
            assert event.tenant_id == tenant
            assert event.payload.user_id == user
            assert event.payload.tenant == slug
            assert (event.payload.client_address, event.payload.user_agent) == (peer, agent)
        [lockout] = await topic.wait_for(
            lambda e: e.type == "identity.session.locked_out" and e.payload.email == email.lower()
        )
        assert (lockout.payload.scope, lockout.payload.user_id) == ("account", user)
        assert lockout.payload.client_address == peer
        [stranger] = await topic.wait_for(
            lambda e: e.type == "identity.session.sign_in_failed" and e.payload.email == unknown
        )
        assert (stranger.tenant_id, stranger.payload.user_id) == (tenant, None)
        assert stranger.payload.reason == "invalid_credentials"
        never_the_password(topic, password, *wrong)


async def test_refresh_token_reuse_is_an_event(identity: Identity) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    _tenant, slug, user, email = await password_user(identity, password=password)
    thief, agent = address(), f"agent-{secrets.token_hex(4)}"
    async with sessions_topic(identity.settings.kafka_bootstrap_servers) as topic:
        async with client(identity.app, address()) as http:
            first = await password_token(http, username=email, password=password, tenant=slug)
            spent = first.json()["refresh_token"]
            rotated = await http.post(
                "/v1/token", data={"grant_type": "refresh_token", "refresh_token": spent}
            )
            assert rotated.status_code == 200
        async with client(identity.app, thief, **{"User-Agent": agent}) as http:
            again = await http.post(
                "/v1/token", data={"grant_type": "refresh_token", "refresh_token": spent}
            )
            assert again.status_code == 400
        [reused] = await topic.wait_for(
            lambda e: (
                e.type == "identity.session.refresh_token_reused" and e.payload.user_id == user
            )
        )
        assert (reused.payload.client_address, reused.payload.user_agent) == (thief, agent)
        [revoked] = await topic.wait_for(
            lambda e: e.type == "identity.session.revoked" and e.payload.user_id == user
        )
        assert (revoked.payload.reason, revoked.payload.family_id) == (
            "reuse_detected",
            reused.payload.family_id,
        )
        assert revoked.payload.client_address == thief
        never_the_password(topic, password)


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    identity: Identity, identity_db: ServiceDb, pg_admin_url: str
) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    _tenant, slug, user, email = await password_user(identity, password=password)
    proxy, forged, real = "10.250.0.7", address(), address()
    settings = make_settings(
        identity_db.url(pg_admin_url),
        identity.settings.kafka_bootstrap_servers,
        key_encryption_key=identity.settings.key_encryption_key.get_secret_value(),
        trusted_proxies=("10.250.0.0/24",),
    )
    async with sessions_topic(identity.settings.kafka_bootstrap_servers) as topic:
        # straight from a client: its X-Forwarded-For is its own say-so, not believed
        direct = address()
        async with client(identity.app, direct, **{"X-Forwarded-For": forged}) as http:
            answer = await password_token(http, username=email, password=password, tenant=slug)
            assert answer.status_code == 200
        async with (
            running(settings, identity_db, pg_admin_url) as behind_proxy,
            client(behind_proxy.app, proxy, **{"X-Forwarded-For": f"{forged}, {real}"}) as http,
        ):
            answer = await password_token(http, username=email, password=password, tenant=slug)
            assert answer.status_code == 200
        events = await topic.wait_for(
            lambda e: e.type == "identity.session.signed_in" and e.payload.user_id == user,
            count=2,
        )
        # the proxy appended the address it saw; what the client put before it is not
        assert sorted(e.payload.client_address for e in events) == sorted([direct, real])


async def test_a_lockout_is_reported_once_however_many_failures_race_to_it(
    identity: Identity,
) -> None:
    """SignInLockedOut comes from the failure that set the lock: failures arriving together
    at the limit (or after it) must not each announce a lockout."""
    key, limit = f"race-{secrets.token_hex(8)}", 3
    window, lockout = timedelta(minutes=5), timedelta(minutes=5)

    async def fail() -> datetime | None:
        async with identity.deps.runtime.uow(None) as uow:
            until = await uow.login_throttle.fail(key, limit=limit, window=window, lockout=lockout)
            await uow.commit()
            return until

    for _ in range(limit - 1):
        assert await fail() is None
    results = await asyncio.gather(*(fail() for _ in range(6)))
    assert len([r for r in results if r is not None]) == 1
