"""`http` bindings with parameters (what catalog's OpenAPI import records in
`config.params`): path placeholders expanded percent-encoded inside their segment, query
parameters in the query string, header parameters as headers, `body` as the JSON body.
A hostile value never changes the scheme, host, port, path depth, query or fragment."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.tools import Call, ToolError
from agentsuite_execution.tools.webhook import Request, request_of

PETS = "https://api.example.com:8443/v1/pets/{petId}/toys"


def call(url: str, input: Any, **config: Any) -> Call:
    return Call(
        binding=ToolBinding(kind=BindingKind.HTTP, target=url, config=config),
        input=input,
        key="k",
        attempt=1,
        timeout=2.0,
        execution_id=uuid.uuid4(),
        step="s",
    )


def attempt(url: str, input: Any, **config: Any) -> Request | ToolError:
    """The request, or the refusal (a value the property tests may meet)."""
    try:
        return request_of(call(url, input, **config))
    except ToolError as exc:
        return exc


def refused(url: str, input: Any, **config: Any) -> ToolError:
    with pytest.raises(ToolError) as caught:
        request_of(call(url, input, **config))
    return caught.value


def test_an_imported_operation_splits_its_input() -> None:
    params = {"petId": "path", "limit": "query", "tags": "query", "X-Trace": "header"}
    input = {
        "petId": 42,
        "limit": 10,
        "tags": ["a b", "c&d"],
        "X-Trace": "t-1",
        "body": {"name": "rex"},
    }
    request = request_of(call(PETS, input, method="POST", params=params))
    url = URL(request.url)
    assert (url.host, url.port, url.path) == ("api.example.com", 8443, "/v1/pets/42/toys")
    assert url.query.getall("tags") == ["a b", "c&d"]
    assert url.query["limit"] == "10"
    assert request.headers["X-Trace"] == "t-1"
    assert request.body is not None
    assert orjson.loads(request.body) == {"name": "rex"}


def test_without_a_body_nothing_is_sent() -> None:
    request = request_of(call(PETS, {"petId": "7"}, method="DELETE", params={"petId": "path"}))
    assert URL(request.url).path == "/v1/pets/7/toys"
    assert request.body is None


def test_a_plain_binding_fills_its_placeholders_and_posts_the_rest() -> None:
    request = request_of(call("https://h.example.com/items/{id}", {"id": "a/b", "x": 1}))
    assert URL(request.url).raw_path == "/items/a%2Fb"
    assert request.body is not None
    assert orjson.loads(request.body) == {"x": 1}


def test_a_plain_binding_without_placeholders_posts_its_whole_input() -> None:
    request = request_of(call("https://h.example.com/hook", [1, 2]))
    assert request.body == b"[1,2]"


@pytest.mark.parametrize(
    "value",
    [
        "..",
        ".",
        "../../admin",
        "x/../../admin",
        "evil.example.com",
        "@evil.example.com",
        "user:pw@evil.example.com",
        "#frag",
        "?admin=1",
        "%2e%2e",
        "%2F..%2F",
        "a\r\nHost: evil",
        "\\..\\",
        "//evil.example.com/x",
    ],
)
def test_a_hostile_path_value_stays_in_its_segment(value: str) -> None:
    request = attempt(PETS, {"petId": value}, method="GET", params={"petId": "path"})
    if isinstance(request, ToolError):
        assert (request.code, value in (".", "..")) == ("invalid_input", True)
        return
    url = URL(request.url)
    assert (url.scheme, url.host, url.port) == ("https", "api.example.com", 8443)
    assert url.parts == ("/", "v1", "pets", value, "toys")
    assert (url.query_string, url.fragment, url.user) == ("", "", None)


@given(st.text())
def test_any_path_value_stays_in_its_segment_or_is_refused(value: str) -> None:
    request = attempt(PETS, {"petId": value}, method="GET", params={"petId": "path"})
    if isinstance(request, ToolError):
        # "", ".", "..", or a lone surrogate (no UTF-8 form)
        assert request.code == "invalid_input"
        return
    url = URL(request.url)
    assert (url.scheme, url.host, url.port, url.user) == ("https", "api.example.com", 8443, None)
    assert url.parts == ("/", "v1", "pets", value, "toys")
    assert (url.query_string, url.fragment) == ("", "")


@given(st.text(min_size=1), st.text())
def test_any_query_value_comes_back_as_given(name: str, value: str) -> None:
    search = "https://h.example.com/s"
    request = attempt(search, {name: value}, method="GET", params={name: "query"})
    if isinstance(request, ToolError):
        assert request.code == "invalid_input"  # a lone surrogate has no UTF-8 form
        return
    url = URL(request.url)
    assert (url.host, url.path, url.fragment) == ("h.example.com", "/s", "")
    assert list(url.query.items()) == [(name, value)]


@given(st.text())
def test_a_query_placeholder_value_stays_in_its_value(value: str) -> None:
    template = "https://h.example.com/s?q={q}&fixed=1"
    request = attempt(template, {"q": value}, method="GET", params={"q": "path"})
    if isinstance(request, ToolError):
        assert request.code == "invalid_input"
        return
    url = URL(request.url)
    assert (url.host, url.path, url.fragment) == ("h.example.com", "/s", "")
    assert list(url.query.items()) == [("q", value), ("fixed", "1")]


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\x00b", 1.5j])
def test_a_header_value_on_several_lines_is_refused(value: Any) -> None:
    params = {"X-Trace": "header"}
    input = {"X-Trace": value if isinstance(value, str) else {"bad": True}}
    exc = refused("https://h.example.com/s", input, method="GET", params=params)
    assert exc.code == "invalid_input"


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "Cookie",
        "Host",
        "Content-Length",
        "Content-Type",
        "Idempotency-Key",
        "X-Agentsuite-Step",
        "Transfer-Encoding",
        "bad name",
    ],
)
def test_a_header_parameter_execution_sets_itself_is_an_invalid_binding(name: str) -> None:
    exc = refused("https://h.example.com/s", {}, method="GET", params={name: "header"})
    assert exc.code == "invalid_binding"


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (PETS, {}),  # a placeholder no parameter fills
        (PETS, {"petId": "query"}),
        ("https://h.example.com/s", {"petId": "path"}),  # a path parameter with no place
        ("https://h.example.com/s", {"x": "cookie"}),
        ("https://h.example.com/s", ["x"]),
        ("https://{host}/s", {"host": "path"}),
        ("https://h.example.com:{port}/s", {"port": "path"}),
    ],
)
def test_params_that_do_not_fit_the_url_are_an_invalid_binding(url: str, params: Any) -> None:
    exc = refused(url, {"petId": "1", "host": "x", "port": "1"}, method="GET", params=params)
    assert exc.code == "invalid_binding"


@pytest.mark.parametrize(
    "input",
    [
        {},  # the path parameter missing
        {"petId": None},
        {"petId": ""},
        {"petId": {"a": 1}},
        {"petId": "1", "other": 2},  # not a parameter of the operation
        {"petId": "1", "body": {"a": 1}},  # a GET sends no body
        ["petId"],
    ],
)
def test_input_that_does_not_fit_the_operation_is_invalid_input(input: Any) -> None:
    exc = refused(PETS, input, method="GET", params={"petId": "path"})
    assert exc.code == "invalid_input"
    assert not exc.retryable


def test_a_placeholder_named_as_openapi_names_it_is_filled() -> None:
    request = request_of(
        call("https://h.example.com/p/{pet-id}", {"pet-id": "x y"}, params={"pet-id": "path"})
    )
    assert URL(request.url).raw_path == "/p/x%20y"
    assert request.body is None  # no `body` in the input
