"""Adversarial review (H11): secrets and SSRF through the real app and a real upstream.

Each test states what must hold; a failing one is a defect (see the review report)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError
from agentsuite_llm_gateway.upstream.pool import Upstreams
from tests.integration.llm_gateway.harness import Gateway, auth, make_settings
from tests.integration.llm_gateway.setup import alias, model, provider
from tests.integration.llm_gateway.stub import Fail, Reply, Stub, stub_upstream

SECRET = "sk-h11-TOPSECRET-7f3a9c"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}
INVOKE = ["llm:invoke"]


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    async with stub_upstream() as running:
        yield running


@pytest.fixture
async def guarded() -> AsyncIterator[Upstreams]:
    """Upstreams as production runs them: nothing internal allowed."""
    settings = make_settings(
        "postgresql+asyncpg://unused/unused", "unused:9092", allowed_hosts=(), upstream_timeout=2
    )
    pool = Upstreams(settings, Cipher(settings))
    yield pool
    await pool.aclose()


def call_to(base_url: str) -> Call:
    upstream = Provider(uuid.uuid4(), "p", ProviderKind.OPENAI, base_url)
    target = Model(uuid.uuid4(), "m", upstream, "stub-model", 8192)
    return Call(model=target, body=CHAT, credential="sk-x", timeout=2.0)


def port_of(stub: Stub) -> int:
    return int(stub.url.rsplit(":", 1)[1].split("/", 1)[0])


# --- SSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"])
async def test_loopback_forms_never_reach_the_upstream(
    guarded: Upstreams, stub: Stub, host: str
) -> None:
    call = call_to(f"http://{host}:{port_of(stub)}/v1")
    with pytest.raises(UpstreamError) as caught:
        await guarded.adapter(call.model.provider).complete(call)
    assert caught.value.kind is Failure.BLOCKED
    assert stub.requests == []


@pytest.mark.parametrize(
    "host", ["\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127\u30020\u30020\u30021"]
)
async def test_a_unicode_digit_host_does_not_reach_loopback(
    guarded: Upstreams, stub: Stub, host: str
) -> None:
    # full-width digits pass check_url as a *name*; yarl's IDNA step turns them into the
    # literal 127.0.0.1, and aiohttp skips the (guarded) resolver for literals
    call = call_to(f"http://{host}:{port_of(stub)}/v1")
    with pytest.raises(UpstreamError) as caught:
        await guarded.adapter(call.model.provider).complete(call)
    assert caught.value.kind is Failure.BLOCKED
    assert stub.requests == []


async def test_the_admin_api_refuses_a_unicode_digit_metadata_url(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    metadata = (
        "http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/v1"
    )
    r = await gateway.client.post(
        "/v1/providers",
        json={"name": "meta", "kind": "openai", "base_url": metadata},
        headers=auth(tenant),
    )
    assert r.status_code == 422, r.text
    assert "base_url" in r.text
    # and through an update (If-Match is required there)
    pid = await provider(gateway, tenant, "ok", "https://api.openai.com/v1")
    got = await gateway.client.get(f"/v1/providers/{pid}", headers=auth(tenant))
    r = await gateway.client.patch(
        f"/v1/providers/{pid}",
        json={"base_url": metadata},
        headers={**auth(tenant), "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "header",
    [
        ("Host", "metadata.google.internal"),
        ("Content-Length", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "upgrade"),
    ],
)
async def test_options_headers_may_not_set_host_or_message_framing(
    gateway: Gateway, header: tuple[str, str]
) -> None:
    # Host re-targets a call at another virtual host behind an allowed ingress; the framing
    # headers desynchronise the pooled connection (request smuggling)
    tenant = uuid.uuid4()
    r = await gateway.client.post(
        "/v1/providers",
        json={
            "name": "hdr",
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "options": {"headers": {header[0]: header[1]}},
        },
        headers=auth(tenant),
    )
    assert r.status_code == 422, r.text
    assert "options" in r.text


async def test_a_tenant_host_header_does_not_reach_the_upstream(
    gateway: Gateway, stub: Stub
) -> None:
    tenant = uuid.uuid4()
    r = await gateway.client.post(
        "/v1/providers",
        json={
            "name": "hosty",
            "kind": "openai",
            "base_url": stub.url,
            "options": {"headers": {"Host": "metadata.google.internal"}},
        },
        headers=auth(tenant),
    )
    if r.status_code == 422:
        return  # refused at the door: nothing to send
    assert r.status_code == 201, r.text
    await model(gateway, tenant, r.json()["provider_id"], "m")
    r = await gateway.client.post("/v1/chat/completions", json=CHAT, headers=auth(tenant, INVOKE))
    assert stub.requests, r.text
    assert stub.requests[0].headers.get("Host") != "metadata.google.internal"


# --- credentials -----------------------------------------------------------------------------


async def test_an_upstream_echoing_the_credential_does_not_leak_it(
    gateway: Gateway, stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    """A user with only llm:invoke must never read the provider key: not in the error, not
    in the attempts of a later success, not in traces, not in logs."""
    caplog.set_level(logging.DEBUG)
    tenant = uuid.uuid4()
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}.", "type": "x"}}
    pid = await provider(gateway, tenant, "leaky", stub.url, credential=SECRET)
    await model(gateway, tenant, pid, "m")
    await model(gateway, tenant, pid, "m2")
    await alias(gateway, tenant, "both", "m", "m2")

    stub.script(Fail(401, body=echo))
    refused = await gateway.client.post(
        "/v1/chat/completions", json=CHAT, headers=auth(tenant, INVOKE)
    )
    stub.script(*[Fail(500, body=echo)] * 3, Reply("fine"))
    fell_back = await gateway.client.post(
        "/v1/chat/completions", json={**CHAT, "model": "both"}, headers=auth(tenant, INVOKE)
    )
    assert fell_back.status_code == 200, fell_back.text
    await gateway.deps.recorder.flush()
    traces = await gateway.client.get("/v1/traces", headers=auth(tenant, ["usage:read"]))
    assert traces.status_code == 200
    assert stub.requests[0].headers["Authorization"] == f"Bearer {SECRET}"  # it was sent
    assert SECRET not in refused.text
    assert SECRET not in fell_back.text
    assert SECRET not in traces.text
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


async def test_an_upstream_401_is_not_the_clients_authentication_error(
    gateway: Gateway, stub: Stub
) -> None:
    # the provider refused the gateway's key, not the caller's token: a 401 makes the openai
    # client raise AuthenticationError and callers rotate a token that is fine
    tenant = uuid.uuid4()
    pid = await provider(gateway, tenant, "badkey", stub.url, credential="sk-wrong")
    await model(gateway, tenant, pid, "m")
    for status in (401, 403):
        stub.script(Fail(status))
        r = await gateway.client.post(
            "/v1/chat/completions", json=CHAT, headers=auth(tenant, INVOKE)
        )
        assert r.status_code == 502, (status, r.text)
        assert r.json()["error"]["type"] == "api_error"


@pytest.mark.parametrize(
    "bad",
    [
        {"credential": "sk-abc\r\nX-Injected: 1"},
        {"options": {"headers": {"X-Team": "a\r\nX-Injected: 1"}}},
        {"options": {"headers": {"Bad Name": "v"}}},
    ],
)
async def test_an_unsendable_credential_or_header_is_a_422_or_a_clean_error(
    gateway: Gateway, stub: Stub, bad: dict[str, Any]
) -> None:
    tenant = uuid.uuid4()
    body = {"name": "crlf", "kind": "openai", "base_url": stub.url, **bad}
    r = await gateway.client.post("/v1/providers", json=body, headers=auth(tenant))
    if r.status_code == 422:
        return
    assert r.status_code == 201, r.text
    await model(gateway, tenant, r.json()["provider_id"], "m")
    r = await gateway.client.post("/v1/chat/completions", json=CHAT, headers=auth(tenant, INVOKE))
    assert r.status_code != 500, r.text
    assert "error" in r.json()


async def test_a_key_kept_in_options_headers_is_not_returned(gateway: Gateway) -> None:
    # Azure OpenAI and many proxies take the key in `api-key`/`x-api-key`, and the OpenAI
    # adapter only sends `Authorization: Bearer`: such keys end up in options.headers, in a
    # plain JSONB column, and every models:read caller reads them back
    tenant = uuid.uuid4()
    pid = await provider(
        gateway,
        tenant,
        "azure",
        "https://example.openai.azure.com/openai",
        options={"headers": {"api-key": SECRET}},
    )
    one = await gateway.client.get(f"/v1/providers/{pid}", headers=auth(tenant, ["models:read"]))
    listed = await gateway.client.get("/v1/providers", headers=auth(tenant, ["models:read"]))
    assert one.status_code == 200
    assert SECRET not in one.text
    assert SECRET not in listed.text
    stored = await gateway.owner_sql(
        "SELECT options::text FROM providers WHERE provider_id = :p", p=uuid.UUID(pid)
    )
    assert SECRET not in stored[0][0]


# --- tenancy that holds ----------------------------------------------------------------------


async def test_another_tenants_model_is_neither_listed_nor_callable(
    gateway: Gateway, stub: Stub
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    pid = await provider(gateway, a, "mine", stub.url, credential=SECRET)
    await model(gateway, a, pid, "tenant-a-private")
    listed = await gateway.client.get("/v1/models", headers=auth(b, INVOKE))
    assert "tenant-a-private" not in listed.text
    r = await gateway.client.post(
        "/v1/chat/completions",
        json={**CHAT, "model": "tenant-a-private"},
        headers=auth(b, INVOKE),
    )
    assert r.status_code == 404, r.text
    assert stub.requests == []
    r = await gateway.client.get(f"/v1/providers/{pid}", headers=auth(b))
    assert r.status_code == 404


async def test_the_response_cache_never_answers_another_tenant(gateway: Gateway) -> None:
    """Guard (holds today): the same request, cache on, from two tenants: the second
    tenant pays its own call; the first tenant's repeat is a hit (so the cache works)."""
    a, b = uuid.uuid4(), uuid.uuid4()
    body = {"model": "local-echo", "messages": [{"role": "user", "content": f"only {a}"}]}
    on = {"X-Agentsuite-Cache": "on"}
    first = await gateway.client.post(
        "/v1/chat/completions", json=body, headers={**auth(a, INVOKE), **on}
    )
    other = await gateway.client.post(
        "/v1/chat/completions", json=body, headers={**auth(b, INVOKE), **on}
    )
    again = await gateway.client.post(
        "/v1/chat/completions", json=body, headers={**auth(a, INVOKE), **on}
    )
    assert first.headers["x-agentsuite-cached"] == "false"
    assert other.headers["x-agentsuite-cached"] == "false"
    assert again.headers["x-agentsuite-cached"] == "true"
