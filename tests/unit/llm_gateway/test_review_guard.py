"""Adversarial review (H11), pure parts: the SSRF guard's URL check against the host forms
an HTTP client normalises into internal IP literals, and the money arithmetic against
inputs an upstream or a client controls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yarl

from agentsuite_llm_gateway.domain.catalog import Price
from agentsuite_llm_gateway.domain.costs import cost_micros
from agentsuite_llm_gateway.upstream.base import tokens_of
from agentsuite_llm_gateway.upstream.guard import BlockedUrl, check_url

PRICE = Price(effective_from=datetime(2020, 1, 1, tzinfo=UTC), input=1_000_000, output=2_000_000)

# every one of these names loopback, link-local metadata or a private address once parsed
INTERNAL = [
    "http://127.0.0.1/v1",
    "http://[::1]/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[0:0:0:0:0:ffff:7f00:1]/v1",
    "http://[::127.0.0.1]/v1",
    "http://[64:ff9b::7f00:1]/v1",
    "http://[2002:7f00:1::]/v1",
    "http://[fe80::1%25eth0]/v1",
    "http://[fd00:ec2::254]/latest/meta-data",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/v1",
    "http://[::]/v1",
    "http://2130706433/v1",
    "http://0x7f000001/v1",
    "http://017700000001/v1",
    "http://0x7f.1/v1",
    "http://127.1/v1",
    "http://127.000.000.001/v1",
    "http://127.0.0.1./v1",
    "http://10.0.0.1/v1",
    "http://100.64.0.1/v1",
    "http://evil@127.0.0.1/v1",
    "http://evil.example\\@127.0.0.1/v1",
    "http://1.1.1.1&@127.0.0.1#@3.3.3.3/v1",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_forms_are_blocked(url: str) -> None:
    with pytest.raises(BlockedUrl):
        check_url(url, ())


@pytest.mark.parametrize(
    "url",
    [
        # full-width digits / ideographic full stops: IDNA (NFKC) maps them onto ASCII, so
        # yarl (aiohttp's URL type) turns the host into the IP literal 127.0.0.1, and aiohttp
        # never calls the guarded resolver for a literal: the request goes to loopback
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:8080/v1",
        "http://127\u30020\u30020\u30021/v1",
        "http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/latest",
    ],
)
def test_unicode_digit_hosts_that_aiohttp_reads_as_internal_literals_are_blocked(
    url: str,
) -> None:
    host = yarl.URL(url).host
    assert host is not None  # what aiohttp will connect to: an ASCII IP literal
    assert host[0].isascii()
    with pytest.raises(BlockedUrl):
        check_url(url, ())


def test_public_urls_pass() -> None:
    for url in ("https://api.openai.com/v1", "http://8.8.8.8/v1", "https://[2606:4700::1111]/v1"):
        check_url(url, ())


def test_an_upstream_reporting_negative_usage_cannot_refund_a_budget() -> None:
    # an upstream's `usage` is data from the network: a negative count must not turn a call
    # into a credit that settlement subtracts from the budget's spend
    tokens = tokens_of({"prompt_tokens": -1_000_000, "completion_tokens": -5})
    assert tokens is None or (tokens.prompt >= 0 and tokens.completion >= 0)
    if tokens is not None:
        assert cost_micros(PRICE, tokens) >= 0
