"""Any OpenAI-compatible base URL (OpenAI, vLLM, Ollama, LM Studio...): the client's body
goes through almost untouched, since the gateway already speaks this wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from agentsuite_llm_gateway.domain.catalog import Provider
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.upstream.base import (
    Call,
    Failure,
    Json,
    Reply,
    UpstreamError,
    tokens_of,
)
from agentsuite_llm_gateway.upstream.transport import Transport, error_message, redacting

# members the gateway reads itself and a provider must not see (some refuse unknown ones)
GATEWAY_ONLY = frozenset({"prompt", "agentsuite", "cache"})


def base_url(provider: Provider) -> str:
    if not provider.base_url:
        raise UpstreamError(Failure.CONNECT, f"provider {provider.name} has no base_url")
    return provider.base_url.rstrip("/")


def headers(call: Call) -> dict[str, str]:
    extra = call.model.provider.options.get("headers")
    out = {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}
    if call.credential:
        # `auth_header`: a provider that takes its key elsewhere (Azure's `api-key`); the
        # admin API moved the key out of `headers` into the sealed credential
        named = call.model.provider.options.get("auth_header")
        if isinstance(named, str) and named:
            out[named] = call.credential
        else:
            out["Authorization"] = f"Bearer {call.credential}"
    return out


def upstream_body(call: Call, *, stream: bool | None) -> Json:
    """The client's body for the provider: its model name, no gateway members, and for a
    stream the usage chunk switched on (the gateway bills from it)."""
    body = {k: v for k, v in call.body.items() if k not in GATEWAY_ONLY}
    body["model"] = call.model.upstream
    if stream is True:
        body["stream"] = True
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    elif stream is False:
        body.pop("stream", None)
        body.pop("stream_options", None)
    return body


def parse_chunk(line: bytes) -> Json | None:
    """A stream line as a chunk; None at `[DONE]`."""
    if line == b"[DONE]":
        return None
    try:
        chunk = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            Failure.BAD_RESPONSE, f"upstream stream sent invalid JSON: {line[:2000]!r}"
        ) from None
    if not isinstance(chunk, dict):
        raise UpstreamError(Failure.BAD_RESPONSE, "upstream stream sent a non-object chunk")
    if chunk.get("error"):
        # vLLM and others report a failure mid-stream as an event, with a 200 already sent
        raise UpstreamError(Failure.SERVER, error_message(line, 500))
    return chunk


class OpenAIAdapter:
    """Stateless: the provider comes with each call, so an edited provider applies at once."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def complete(self, call: Call) -> Reply:
        with redacting(call.credential):
            return await self._complete(call)

    async def _complete(self, call: Call) -> Reply:
        provider = call.model.provider
        answer = await self.transport.post_json(
            provider,
            base_url(provider) + "/chat/completions",
            headers(call),
            upstream_body(call, stream=False),
            seconds=call.timeout,
        )
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices:
            if answer.get("error"):
                raise UpstreamError(Failure.SERVER, error_message(orjson.dumps(answer), 500))
            raise UpstreamError(Failure.BAD_RESPONSE, "upstream answer has no choices")
        return Reply(body=answer, tokens=tokens_of(answer.get("usage")) or Tokens())

    async def stream(self, call: Call) -> AsyncIterator[Json]:
        """The upstream's chunks until `[DONE]`; a stream that ends without it was cut short
        (a clean EOF mid-answer looks like a complete one otherwise): SERVER, so before the
        first token the router retries or falls back, after it the client learns it."""
        provider = call.model.provider
        lines = self.transport.stream_lines(
            provider,
            base_url(provider) + "/chat/completions",
            headers(call),
            upstream_body(call, stream=True),
            first_byte_timeout=call.timeout,
        )
        with redacting(call.credential):
            try:
                async for line in lines:
                    chunk = parse_chunk(line)
                    if chunk is None:
                        return
                    yield chunk
            finally:
                # leaving early (DONE, an error, the client gone) frees the connection now
                await lines.aclose()
            raise UpstreamError(Failure.SERVER, "stream ended without [DONE]")

    async def embed(self, call: Call) -> Reply:
        with redacting(call.credential):
            return await self._embed(call)

    async def _embed(self, call: Call) -> Reply:
        provider = call.model.provider
        answer = await self.transport.post_json(
            provider,
            base_url(provider) + "/embeddings",
            headers(call),
            upstream_body(call, stream=None),
            seconds=call.timeout,
        )
        if not isinstance(answer.get("data"), list):
            raise UpstreamError(Failure.BAD_RESPONSE, "upstream embeddings answer has no data")
        return Reply(body=answer, tokens=tokens_of(answer.get("usage")) or Tokens())
