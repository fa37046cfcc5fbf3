"""The SSRF guard: schemes, every internal range, IPv6 forms of them, the allow-list."""

from __future__ import annotations

import pytest

from agentsuite_kit.outbound import PinnedResolver
from agentsuite_llm_gateway.upstream.base import Failure, UpstreamError
from agentsuite_llm_gateway.upstream.guard import (
    BlockedAddress,
    BlockedUrl,
    GuardedResolver,
    check_url,
)

INTERNAL = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
    "100.64.0.1",  # CGNAT
    "100.127.255.255",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.0.8",
    "198.18.0.1",  # benchmarking
    "[::1]",
    "[::]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fe80::1]",
    "[ff02::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "151.101.1.1", "[2606:4700:4700::1111]", "[::ffff:8.8.8.8]"]


@pytest.mark.parametrize("host", INTERNAL)
def test_internal_literals_are_blocked(host: str) -> None:
    with pytest.raises(BlockedUrl) as caught:
        check_url(f"http://{host}:8000/v1", ())
    assert caught.value.kind is Failure.BLOCKED
    # both things the callers catch: the router an UpstreamError, the admin API a ValueError
    assert isinstance(caught.value, UpstreamError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("host", PUBLIC)
def test_public_literals_pass(host: str) -> None:
    check_url(f"https://{host}/v1", ())


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/v1",
        "ws://example.com/v1",
        "example.com/v1",
        "//example.com/v1",
        "http:///v1",
        "https://user:pw@api.openai.com/v1",
        "http://example.com:99999/v1",
        "http://2130706433/v1",  # 127.0.0.1 in decimal
        "http://127.1/v1",
        "http://0x7f.0.0.1/v1",
        "http://0177.0.0.1/v1",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(BlockedUrl):
        check_url(url, ())


@pytest.mark.parametrize(
    "url", ["https://api.openai.com/v1", "http://vllm.example.com:8000/v1", "HTTPS://X.AI/v1"]
)
def test_names_pass_check_url(url: str) -> None:
    # names are checked when they resolve (GuardedResolver), not here
    check_url(url, ())


def test_allow_list_by_address_and_cidr() -> None:
    check_url("http://127.0.0.1:8000/v1", ("127.0.0.1",))
    check_url("http://10.20.30.40/v1", ("10.0.0.0/8",))
    check_url("http://[fd00::5]/v1", ("fd00::/8",))
    check_url("http://[::1]:80/v1", ("::1",))
    with pytest.raises(BlockedUrl):
        check_url("http://192.168.0.1/v1", ("10.0.0.0/8",))
    with pytest.raises(BlockedUrl):
        check_url("http://127.0.0.2/v1", ("127.0.0.1",))


async def test_resolver_refuses_internal_answers() -> None:
    for address in ("127.0.0.1", "169.254.169.254", "10.0.0.7", "::1", "::ffff:127.0.0.1"):
        resolver = GuardedResolver((), PinnedResolver(address))
        with pytest.raises(BlockedAddress, match="internal address"):
            await resolver.resolve("rebound.example.com", 443)


async def test_resolver_keeps_only_public_answers() -> None:
    resolver = GuardedResolver((), PinnedResolver("127.0.0.1", "93.184.216.34"))
    results = await resolver.resolve("mixed.example.com", 443)
    assert [r["host"] for r in results] == ["93.184.216.34"]


async def test_resolver_allow_list_by_name_and_cidr() -> None:
    by_name = GuardedResolver(("vllm.internal",), PinnedResolver("10.0.0.5"))
    assert [r["host"] for r in await by_name.resolve("VLLM.internal.", 80)] == ["10.0.0.5"]
    by_cidr = GuardedResolver(("10.0.0.0/24",), PinnedResolver("10.0.0.5", "10.0.1.5"))
    assert [r["host"] for r in await by_cidr.resolve("vllm.internal", 80)] == ["10.0.0.5"]
    other = GuardedResolver(("vllm.internal",), PinnedResolver("10.0.0.5"))
    with pytest.raises(BlockedAddress):
        await other.resolve("db.internal", 5432)


async def test_resolver_real_localhost_is_refused() -> None:
    resolver = GuardedResolver(())
    with pytest.raises(BlockedAddress):
        await resolver.resolve("localhost", 80)
    await resolver.close()
