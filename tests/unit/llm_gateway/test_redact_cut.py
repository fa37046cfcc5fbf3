"""A provider key echoed in an upstream's error text: masked before the text is cut, so a
cut through the key leaves no start of it in the message callers and traces see."""

from __future__ import annotations

import pytest

from agentsuite_llm_gateway.upstream.base import UpstreamError
from agentsuite_llm_gateway.upstream.openai import parse_chunk
from agentsuite_llm_gateway.upstream.transport import failure_of_status, redacting

KEY = "sk-live-0123456789abcdefghijklmn"


def pieces(value: str) -> set[str]:
    return {value[i : i + 4] for i in range(len(value) - 3)}


@pytest.mark.parametrize("at", [480, 490, 495, 499])
def test_a_key_at_the_cut_of_a_text_error_leaves_no_piece(at: int) -> None:
    body = ("x" * at + f"bad key {KEY} " + "y" * 70_000).encode()
    with pytest.raises(UpstreamError) as raised, redacting(KEY):
        raise failure_of_status(401, body, {})
    message = raised.value.message
    assert not [p for p in pieces(KEY) if p in message], message[-80:]
    assert len(message) <= 1000


@pytest.mark.parametrize("at", [180, 190, 199])
def test_a_key_at_the_cut_of_a_bad_stream_line_leaves_no_piece(at: int) -> None:
    line = ("x" * at + KEY + "}").encode()
    with pytest.raises(UpstreamError) as raised, redacting(KEY):
        parse_chunk(line)
    assert not [p for p in pieces(KEY) if p in raised.value.message], raised.value.message
