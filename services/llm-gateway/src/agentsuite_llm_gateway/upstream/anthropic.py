"""The Anthropic Messages API as an OpenAI-shaped adapter (translation: anthropic_wire,
anthropic_stream; HTTP, timeouts, size limits and error mapping: the transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentsuite_llm_gateway.domain.catalog import Provider
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.upstream.anthropic_stream import StreamTranslator, sse_data
from agentsuite_llm_gateway.upstream.anthropic_wire import to_chat_completion, to_messages_request
from agentsuite_llm_gateway.upstream.base import (
    Call,
    Failure,
    Json,
    Reply,
    UpstreamError,
    tokens_of,
)
from agentsuite_llm_gateway.upstream.transport import Transport, redacting

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"


def messages_url(provider: Provider) -> str:
    """`/v1/messages` under the provider's base URL; a base that already names `/v1`
    (as OpenAI-style base URLs do) is not given a second one."""
    base = (provider.base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def headers(call: Call) -> dict[str, str]:
    options = call.model.provider.options
    out = {"anthropic-version": str(options.get("version") or DEFAULT_VERSION)}
    if call.credential is not None:
        out["x-api-key"] = call.credential
    beta = options.get("beta")  # opt-in features, e.g. a longer context window
    if beta:
        out["anthropic-beta"] = ",".join(beta) if isinstance(beta, list) else str(beta)
    return out


class AnthropicAdapter:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def complete(self, call: Call) -> Reply:
        request = to_messages_request(call)
        provider = call.model.provider
        with redacting(call.credential):
            answer = await self.transport.post_json(
                provider, messages_url(provider), headers(call), request, seconds=call.timeout
            )
            body = to_chat_completion(answer)
        return Reply(body=body, tokens=tokens_of(body["usage"]) or Tokens())

    async def stream(self, call: Call) -> AsyncIterator[Json]:
        request = to_messages_request(call, stream=True)
        provider = call.model.provider
        translator = StreamTranslator(call.model.upstream)
        lines = self.transport.stream_lines(
            provider,
            messages_url(provider),
            headers(call),
            request,
            first_byte_timeout=call.timeout,
        )
        with redacting(call.credential):
            try:
                async for line in lines:
                    event = sse_data(line)
                    if event is None:
                        continue
                    for chunk in translator.feed(event):
                        yield chunk
                    if translator.done:
                        return
            finally:
                # leaving early (done, an error event, the client gone) frees the connection
                close = getattr(lines, "aclose", None)
                if close is not None:
                    await close()
            # the connection ended cleanly but the message did not: the provider cut it short
            raise UpstreamError(Failure.SERVER, "anthropic stream ended before message_stop")

    async def embed(self, call: Call) -> Reply:
        raise UpstreamError(Failure.REFUSED, "anthropic has no embeddings API", status=400)
