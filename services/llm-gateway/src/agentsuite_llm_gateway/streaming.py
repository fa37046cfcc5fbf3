"""Streamed completions: nothing reaches the client before the first token.

A stream is opened model by model like any call, and read until its first token (content,
a tool-call delta or a finish) or until `upstream_first_token_timeout`. A stream that fails
before then (a 429, a 5xx, a cut connection, silence) is retried and falls back exactly like
a non-streamed call, and the client never sees it. Once a token has been relayed the
answer is committed: a later failure is surfaced to the client as an `error` event (the
OpenAI clients raise it) and recorded, never retried, since the client already has half of
one answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from agentsuite_llm_gateway.attempts import Attempts, exhausted, falls_back, refused
from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.costs import Tokens, cost_micros
from agentsuite_llm_gateway.outcomes import Outcomes, extension
from agentsuite_llm_gateway.prepared import Outcome, Prepared, elapsed_ms
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError, tokens_of

Json = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def sse(chunk: Json) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


@dataclass(slots=True)
class Opened:
    chunks: AsyncIterator[Json]
    buffered: list[Json]
    ttft_ms: int


async def open_stream(tries: Attempts, outcomes: Outcomes, job: Prepared) -> AsyncIterator[bytes]:
    async with outcomes.traced_failure(job, stream=True):
        hit = await outcomes.cached(job, stream=True)
        if hit is not None:
            return _replay(hit, _wants_usage(job))
        last: UpstreamError | None = None
        for candidate in job.route.candidates:
            model = await tries.reserve(job, candidate)
            await outcomes.started(job, model, stream=True)
            try:
                call = tries.call(job, model, tries.settings.upstream_first_token_timeout)
                opened = await _first_token(tries, job, model, call)
            except UpstreamError as exc:
                last = exc
                if not falls_back(exc):
                    raise refused(exc) from None
                continue
            return _relay(outcomes, job, model, opened)
        raise exhausted(last)


async def _first_token(tries: Attempts, job: Prepared, model: Model, call: Call) -> Opened:
    adapter = tries.adapter(model)
    settings = tries.settings
    retries = settings.retries
    for attempt in range(retries + 1):
        key = tries.admit(job, model)
        began = time.perf_counter()
        chunks = adapter.stream(call)
        buffered: list[Json] = []
        try:
            async with asyncio.timeout(settings.upstream_first_token_timeout):
                async for chunk in chunks:
                    buffered.append(chunk)
                    if _is_token(chunk):
                        break
        except asyncio.CancelledError:
            await _close(chunks)
            tries.abandoned(key)  # the client left: no verdict on the provider
            raise
        except (UpstreamError, TimeoutError) as raised:
            exc = (
                raised
                if isinstance(raised, UpstreamError)
                else UpstreamError(Failure.TIMEOUT, "no first token in time")
            )
            await _close(chunks)
            tries.failed(job, model, key, exc, began)
            if not exc.retryable or attempt == retries:
                raise exc from None
            await asyncio.sleep(tries.backoff(attempt, exc.retry_after))
            continue
        tries.succeeded(job, model, key, began)
        return Opened(chunks, buffered, elapsed_ms(job.started))
    raise AssertionError("unreachable")  # the loop returns or raises


async def _relay(  # noqa: C901  the SSE relay loop: usage, errors, cancellation and the final record in one generator
    outcomes: Outcomes, job: Prepared, model: Model, opened: Opened
) -> AsyncIterator[bytes]:
    wants_usage = _wants_usage(job)
    tokens: Tokens | None = None
    text = 0
    error: str | None = None
    price = model.price_at(job.at)
    currency = price.currency if price is not None else "USD"

    def render(chunk: Json) -> bytes | None:
        nonlocal tokens, text
        usage = chunk.get("usage")
        if usage:
            tokens = tokens_of(usage) or tokens
        choices = chunk.get("choices") or ()
        for choice in choices:
            delta = choice.get("delta") or {}
            text += len(delta.get("content") or "")
            for call in delta.get("tool_calls") or ():
                text += len(((call.get("function") or {}).get("arguments")) or "")
        if usage and not choices:
            if not wants_usage:
                return None
            cost = cost_micros(price, tokens or Tokens())
            chunk = {**chunk, "agentsuite": extension(job, model, cost, currency, cached=False)}
        chunk["model"] = model.name
        return sse(chunk)

    def used() -> tuple[Tokens, int]:
        # no usage came (cut, or a server that sends none): bytes/4 is the usual guess
        guess = Tokens(prompt=job.prompt_tokens // 4, completion=text // 4 + (text > 0))
        spent = tokens if tokens is not None else guess
        return spent, cost_micros(price, spent)

    try:
        for chunk in opened.buffered:
            rendered = render(chunk)
            if rendered is not None:
                yield rendered
        async for chunk in opened.chunks:
            rendered = render(chunk)
            if rendered is not None:
                yield rendered
        # settled before the last event: a client that calls again on [DONE] sees it
        await outcomes.settle(job, *used())
        yield DONE
    except UpstreamError as exc:
        error = "stream_cut"
        await outcomes.settle(job, *used())
        problem = {
            "message": f"the upstream stream failed after it began: {exc.message}",
            "type": "api_error",
            "param": None,
            "code": "stream_cut",
        }
        yield b"data: " + orjson.dumps({"error": problem}) + b"\n\n"
    except BaseException:
        error = "client_closed"  # the client went away (or the server is stopping)
        raise
    finally:
        await _close(opened.chunks)
        spent, cost = used()
        status = "ok" if error is None else "error"
        latency = elapsed_ms(job.started)
        trace = outcomes.trace(
            job,
            model,
            status,
            spent,
            cost,
            currency,
            latency,
            ttft=opened.ttft_ms,
            stream=True,
            error=error,
        )
        outcomes.recorder.record(trace)


async def _replay(hit: Outcome, wants_usage: bool) -> AsyncIterator[bytes]:
    """A cached completion, streamed back as one content chunk and a finish."""
    body = hit.body
    base = {
        "id": body.get("id", "chatcmpl-cached"),
        "object": "chat.completion.chunk",
        "created": body.get("created", int(time.time())),
        "model": hit.model,
    }
    for index, choice in enumerate(body.get("choices") or ()):
        message = choice.get("message") or {}
        delta: Json = {"role": "assistant", "content": message.get("content")}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(message["tool_calls"])]
        yield sse({**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        finish = choice.get("finish_reason", "stop")
        yield sse({**base, "choices": [{"index": index, "delta": {}, "finish_reason": finish}]})
    if wants_usage:
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        yield sse({**base, "choices": [], "usage": usage, "agentsuite": body.get("agentsuite")})
    yield DONE


def _is_token(chunk: Json) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or choice.get("finish_reason"):
            return True
    return False


def _wants_usage(job: Prepared) -> bool:
    options = job.body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


async def _close(chunks: AsyncIterator[Json]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        # closing a broken stream may fail too; it is gone either way
        with contextlib.suppress(Exception):
            await close()
