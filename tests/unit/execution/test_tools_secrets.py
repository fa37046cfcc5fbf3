"""A tool credential in the text a tool call answers: every form it can be sent or echoed
in is masked, masking runs before any cut (so no piece of a secret survives a cut through
it), short values are refused, and one name rule holds for catalog and execution."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus, urlencode

import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st

from agentsuite_catalog.domain.bindings import Auth, check_auth
from agentsuite_contracts.catalog import AuthScheme
from agentsuite_execution.domain.secrets import check_name, check_value
from agentsuite_execution.engine.credentials import check_header_name
from agentsuite_execution.tools.calls import ToolError
from agentsuite_execution.tools.credentials import Credential, clipped
from agentsuite_kit.errors import Invalid

# the secret and the text around it draw on disjoint alphabets: any 4-character piece of
# the secret in a result can only come from the secret itself
SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+/=~"
FILLER_CHARS = ' {}":,<>[]!\n\t#'
PIECE = 4


def pieces(value: str) -> set[str]:
    return {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}


def forms(credential: Credential) -> list[str]:
    """What a message could hold of it: as stored, as sent in a header or a URL."""
    sent = [credential.value, *credential.headers().values()]
    if credential.query():
        sent.append(urlencode(credential.query()))
        sent.append(yarl.URL(f"http://h/?{urlencode(credential.query())}").raw_query_string)
    return sent


secrets = st.text(SECRET_CHARS, min_size=8, max_size=40)
fillers = st.text(FILLER_CHARS, max_size=600)


@given(
    value=secrets,
    scheme=st.sampled_from(["bearer", "basic", "header", "query"]),
    parts=st.lists(st.tuples(fillers, st.integers(0, 3)), min_size=1, max_size=4),
    read=st.integers(0, 3000),
    limit=st.integers(0, 700),
)
def test_no_piece_of_a_secret_survives_masking_and_cutting(
    value: str, scheme: str, parts: list[tuple[str, int]], read: int, limit: int
) -> None:
    credential = Credential(scheme=scheme, secret_name="s", value=value, name="api_key")
    sent = forms(credential)
    text = "".join(filler + sent[i % len(sent)] for filler, i in parts)
    # the body as read (cut at `read`: the rest dropped), then cut for the error
    body = text[:read]
    result = clipped(body, credential.masked, limit, truncated=len(body) < len(text))
    assert len(result) <= limit
    leaked = [p for p in pieces(value) if p in result]
    assert not leaked, (result, leaked)


def test_the_reported_refusal_keeps_no_start_of_the_bearer() -> None:
    value = "sk-live-0123456789abcdefghij"
    credential = Credential(scheme="bearer", secret_name="s", value=value)
    body = json.dumps({"error": "unauthorized", "pad": "x" * 450, "got": f"Bearer {value}"})
    result = clipped(body, credential.masked, 512)
    assert "sk-l" not in result, result


@pytest.mark.parametrize(
    "value",
    ["sk+live/abc==xyz", "p@ss wörd&k=v%20", 'q"uo\\te\u2028x', "Qz7+Wv9/ ?*'()!:@$,;"],
)
def test_every_encoded_form_of_a_query_or_header_value_is_masked(value: str) -> None:
    credential = Credential(scheme="query", secret_name="s", value=value, name="api_key")
    for form in (
        value,
        quote_plus(value),
        quote(value, safe=""),
        quote(value),
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote_plus(value)),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urlencode(credential.query()),
        # as aiohttp sends it (yarl decodes some of what urlencode escaped)
        yarl.URL(f"http://h/?{urlencode(credential.query())}").raw_query_string,
    ):
        text = f"GET /hook?page=2&{form} failed: echo {form}."
        assert clipped(text, credential.masked, 10_000).count("***") >= 2, form


def test_basic_masks_the_encoded_pair_and_the_password() -> None:
    credential = Credential(scheme="basic", secret_name="s", value="alice:pa55w0rd-xyz")
    encoded = base64.b64encode(b"alice:pa55w0rd-xyz").decode()
    assert encoded in credential.masked
    assert "alice:pa55w0rd-xyz" in credential.masked


def test_masked_forms_are_never_shorter_than_the_kits_minimum() -> None:
    credential = Credential(scheme="header", secret_name="s", value="abc", name="X-K")
    assert all(len(form) >= 4 for form in credential.masked)
    assert clipped("a b c abc", credential.masked, 100) == "a b c abc"


@pytest.mark.parametrize("value", ["a", "abc", "1234567"])
def test_a_secret_value_under_eight_characters_is_refused(value: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_value(value)
    assert refused.value.field == "value"


def test_a_secret_value_of_eight_characters_is_kept() -> None:
    assert check_value("12345678") == "12345678"


@pytest.mark.parametrize("name", ["vault:gh", "team/gh-token", "-lead", ""])
def test_catalog_refuses_a_credential_name_execution_cannot_store(name: str) -> None:
    with pytest.raises(Invalid):
        check_name(name)
    with pytest.raises(Invalid) as refused:
        check_auth(Auth(scheme=AuthScheme.BEARER, credential=name), "binding.auth")
    assert refused.value.field == "binding.auth.credential"


@pytest.mark.parametrize("name", ["gh-token", "a.b_c-d", "X9"])
def test_a_name_either_service_accepts_the_other_does(name: str) -> None:
    assert check_name(name) == name
    assert check_auth(Auth(scheme=AuthScheme.BEARER, credential=name), "auth").credential == name


@pytest.mark.parametrize(
    "header", ["Host", "Idempotency-Key", "X-Agentsuite-Step", "content-length"]
)
def test_catalog_refuses_a_header_credential_execution_would_refuse(header: str) -> None:
    with pytest.raises(ToolError):
        check_header_name(header)
    with pytest.raises(Invalid) as refused:
        check_auth(Auth(scheme=AuthScheme.HEADER, credential="k", name=header), "auth")
    assert refused.value.field == "auth.name"


def test_a_header_credential_both_accept() -> None:
    check_header_name("X-Api-Key")
    assert check_auth(Auth(scheme=AuthScheme.HEADER, credential="k", name="X-Api-Key"), "auth")
