"""`http` tool bindings: config validation (method, headers, statuses) and the SSRF guard's
decisions, all refused before any connection is made."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import Call, Toolbox, ToolError
from agentsuite_execution.tools.webhook import check_headers, request_of, retry_after
from agentsuite_kit.http.guard import Blocked, check_url
from agentsuite_kit.outbound import PinnedResolver

DSN = SecretStr("postgresql+asyncpg://u@localhost/x")  # never connected to


def settings(**overrides: Any) -> ExecutionSettings:
    return ExecutionSettings(database_url=DSN, **overrides)


def call(url: str, **config: Any) -> Call:
    return Call(
        binding=ToolBinding(kind=BindingKind.HTTP, target=url, config=config),
        input={"q": 1},
        key="k",
        attempt=1,
        timeout=2.0,
        execution_id=uuid.uuid4(),
        step="s",
    )


def test_default_request_is_a_post_with_no_extra_headers() -> None:
    request = request_of(call("https://hooks.example.com/x"))
    assert (request.method, dict(request.headers), request.success) == ("POST", {}, None)


def test_method_and_statuses_are_read_from_config() -> None:
    request = request_of(call("https://h.example.com", method="get", success_statuses=[200, 404]))
    assert request.method == "GET"
    assert request.success == frozenset({200, 404})


@pytest.mark.parametrize(
    "config",
    [
        {"method": "TRACE"},
        {"method": "CONNECT"},
        {"method": 1},
        {"success_statuses": 200},
        {"success_statuses": [700]},
        {"success_statuses": [True]},
        {"headers": ["X-A: b"]},
    ],
)
def test_bad_config_is_an_invalid_binding(config: dict[str, Any]) -> None:
    with pytest.raises(ToolError) as caught:
        request_of(call("https://h.example.com", **config))
    assert caught.value.code == "invalid_binding"
    assert not caught.value.retryable


def test_plain_headers_pass() -> None:
    headers = {"X-Source": "agentsuite", "Accept": "application/json", "User-Agent": "me"}
    assert check_headers(headers) == headers
    assert check_headers(None) == {}


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Proxy-Connection",
        "Expect",
        "Idempotency-Key",
        "X-Agentsuite-Attempt",
        "x-agentsuite-anything",
    ],
)
def test_connection_and_idempotency_headers_cannot_be_overridden(name: str) -> None:
    with pytest.raises(ToolError) as caught:
        check_headers({name: "x"})
    assert caught.value.code == "invalid_binding"
    assert name in caught.value.message


@pytest.mark.parametrize("name", ["Authorization", "Proxy-Authorization", "Cookie"])
def test_credential_headers_are_refused(name: str) -> None:
    with pytest.raises(ToolError, match="credential"):
        check_headers({name: "Bearer sk-live"})


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "one\r\nHost: evil"},  # header injection
        {"X-A": "nul\x00"},
        {"X-A": 1},
        {"Bad Name": "x"},
        {"X-A:": "x"},
        {"": "x"},
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, Any]) -> None:
    with pytest.raises(ToolError) as caught:
        check_headers(headers)
    assert caught.value.code == "invalid_binding"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 in decimal
        "file:///etc/passwd",
        "gopher://example.com/",
    ],
)
async def test_internal_or_odd_targets_are_forbidden(url: str) -> None:
    box = Toolbox(settings())
    try:
        with pytest.raises(ToolError) as caught:
            await box.invoke(call(url))
    finally:
        await box.aclose()
    assert caught.value.code == "forbidden_target"
    assert not caught.value.retryable


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "::1"])
async def test_a_name_resolving_inward_is_forbidden(address: str) -> None:
    resolver = PinnedResolver(address)
    box = Toolbox(settings(), resolver=resolver)
    try:
        with pytest.raises(ToolError) as caught:
            await box.invoke(call("http://rebound.example.com/hook"))
    finally:
        await box.aclose()
    assert resolver.asked == ["rebound.example.com"]
    assert caught.value.code == "forbidden_target"
    assert address in caught.value.message
    assert not caught.value.retryable


def test_kit_guard_allow_list_by_name_address_and_cidr() -> None:
    check_url("http://127.0.0.1:9000/hook", ("127.0.0.1",))
    check_url("http://10.9.8.7/hook", ("10.0.0.0/8",))
    check_url("http://hooks.internal/hook", ())  # names are judged when they resolve
    with pytest.raises(Blocked, match="allowed_hosts"):
        check_url("http://10.9.8.7/hook", ("192.168.0.0/16",))
    with pytest.raises(Blocked):
        check_url("http://127.0.0.2/hook", ("127.0.0.1",))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0.5", 0.5), (None, None), ("-1", None), ("nan", None), ("tomorrow", None)],
)
def test_retry_after_is_read_only_as_sane_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after(value) == seconds
