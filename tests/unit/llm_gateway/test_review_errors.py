"""Adversarial review (H11), guard: every GatewayError the OpenAI routes answer with is
parsed by the official `openai` client into the exception class a caller catches, with
the gateway's code, param and message (the timeouts and 413 the integration tests cannot
reach cheaply included)."""

from __future__ import annotations

import httpx2 as httpx  # the HTTP client the installed openai package is built on
import openai
import pytest

from agentsuite_llm_gateway.api.errors import EdgeError, openai_error
from agentsuite_llm_gateway.domain.errors import Code, GatewayError

CASES: list[tuple[GatewayError, int, type[openai.APIStatusError]]] = [
    (GatewayError(Code.INVALID_REQUEST, "bad", param="messages"), 400, openai.BadRequestError),
    (EdgeError(413, Code.INVALID_REQUEST, "big"), 413, openai.APIStatusError),
    (GatewayError(Code.MODEL_NOT_FOUND, "nope", param="model"), 404, openai.NotFoundError),
    (GatewayError(Code.BUDGET_EXCEEDED, "spent"), 402, openai.APIStatusError),
    (GatewayError(Code.COST_CAP, "cap", param="max_cost"), 402, openai.APIStatusError),
    (GatewayError(Code.RATE_LIMITED, "slow down", retryable=True), 429, openai.RateLimitError),
    (
        GatewayError(Code.PROVIDER_ERROR, "upstream", retryable=True),
        502,
        openai.InternalServerError,
    ),
    (GatewayError(Code.TIMEOUT, "late", retryable=True), 504, openai.InternalServerError),
    (GatewayError(Code.CONFLICT, "taken"), 409, openai.ConflictError),
]


@pytest.mark.parametrize(("error", "status", "kind"), CASES, ids=[c[0].code for c in CASES])
async def test_the_openai_client_raises_the_right_class(
    error: GatewayError, status: int, kind: type[openai.APIStatusError]
) -> None:
    response = openai_error(error)
    body = bytes(response.body)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(response.status_code, content=body, headers=dict(response.headers))

    client = openai.AsyncOpenAI(
        api_key="t",
        base_url="http://gateway.test/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
    )
    with pytest.raises(openai.APIStatusError) as caught:
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert response.status_code == status
    assert type(caught.value) is kind
    assert caught.value.code == error.code.value
    assert caught.value.param == error.param
    assert error.message in caught.value.message
