"""HTTP to upstreams over the kit's outbound client (agentsuite_kit.outbound: the SSRF
guard, no redirects, bounded body and time), one connection pool per provider.

Every failure leaves here as an UpstreamError whose kind tells the router what to do:
connection refused or unresolvable is CONNECT, the SSRF guard is BLOCKED, no answer (or no
first stream line, or a stream gone silent) in time is TIMEOUT, 429 is RATE_LIMITED, 5xx or
a connection dropped mid-answer is SERVER, a redirect, an oversized or non-JSON body is
BAD_RESPONSE, and any other 4xx is REFUSED with the upstream's own message. Redirects are
never followed: one to an internal address must go nowhere.

This is the hot path. Sessions are made once per provider; a body with a trusted length is
read in one call; only streams and bodies of unknown length pay for chunked accounting.
The kit maps aiohttp's failures to its own kinds (masking the request's credentials);
`failure_of` maps those to the router's.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncGenerator, Iterator, Mapping
from typing import Any

import orjson

from agentsuite_kit.outbound import (
    MASK,
    Dropped,
    InvalidResponse,
    OutboundClient,
    OutboundError,
    TargetBlocked,
    TimedOut,
    TooLarge,
    Unreachable,
    clip,
    mask,
    read_body,
)
from agentsuite_llm_gateway.domain.catalog import Provider
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.upstream.base import Failure, Json, UpstreamError
from agentsuite_llm_gateway.upstream.guard import check_url

ERROR_BODY_MAX = 64 * 1024  # an error body is only read for its message
# characters of an error's message callers see; cut only once the key is masked (`redacted`)
MESSAGE_MAX = 1000
# of a non-JSON error body taken as its text: more than MESSAGE_MAX, so the key is masked
# in it whole before the cut
ERROR_TEXT_MAX = 4 * MESSAGE_MAX
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
SSE_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


REDACTED = MASK


def redact(message: str, secret: str | None) -> str:
    """`message` with every occurrence of `secret` replaced: an upstream that echoes the
    provider key (in an error or mid-stream) must not hand it to the caller or the traces.
    A bare `Bearer <key>` header is covered by the key itself."""
    if not secret or secret not in message:
        return message
    return mask(message, (secret,))


def redacted(exc: UpstreamError, secret: str | None) -> UpstreamError:
    """`exc` itself when its message neither quotes `secret` nor is too long, else a copy
    whose message is masked, then cut (a cut first could run through the key and leave its
    start); the end of a cut message that starts the key is dropped too."""
    if (not secret or secret not in exc.message) and len(exc.message) <= MESSAGE_MAX:
        return exc
    message = clip(exc.message, (secret,) if secret else (), MESSAGE_MAX, truncated=True)
    return UpstreamError(exc.kind, message, status=exc.status, retry_after=exc.retry_after)


@contextlib.contextmanager
def redacting(secret: str | None) -> Iterator[None]:
    """Re-raise an UpstreamError from the block without `secret` in its message (adapters
    wrap each call, streams included, in it: the message reaches callers and traces)."""
    try:
        yield
    except UpstreamError as exc:
        clean = redacted(exc, secret)
        if clean is exc:
            raise
        raise clean from None  # the original, which quotes the key, must not be chained


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message(raw: bytes, status: int) -> str:
    """The upstream's own words: OpenAI's `error.message` (or Anthropic's, same shape)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # not cut to what callers see here: `redacted` masks the key first
        text = raw[:ERROR_TEXT_MAX].decode(errors="replace").strip()
        return text or f"upstream answered {status}"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return f"upstream answered {status}"


def failure_of_status(status: int, raw: bytes, headers: Mapping[str, str]) -> UpstreamError:
    if 300 <= status < 400:
        where = headers.get("Location", "?")
        return UpstreamError(
            Failure.BAD_RESPONSE, f"upstream redirected ({status} to {where})", status=status
        )
    message = error_message(raw, status)
    if status == 429:
        return UpstreamError(
            Failure.RATE_LIMITED,
            message,
            status=status,
            retry_after=retry_after(headers.get("Retry-After")),
        )
    if status >= 500:
        return UpstreamError(
            Failure.SERVER,
            message,
            status=status,
            retry_after=retry_after(headers.get("Retry-After")),
        )
    if status in (401, 403):
        # the provider refused the gateway's stored key: never the caller's own 401
        return UpstreamError(
            Failure.AUTH, f"the provider rejected its credential: {message}", status=status
        )
    return UpstreamError(Failure.REFUSED, message, status=status)


def failure_of(exc: OutboundError, where: str) -> UpstreamError:
    """The kit's failure kind as the router's (`where`: how far the exchange got)."""
    if isinstance(exc, TimedOut):
        return UpstreamError(Failure.TIMEOUT, f"upstream timed out {where}")
    if isinstance(exc, TargetBlocked):  # the URL passed check_url: an address it resolved to
        return UpstreamError(Failure.BLOCKED, exc.message)
    if isinstance(exc, Unreachable):
        return UpstreamError(Failure.CONNECT, f"could not connect to upstream: {exc.detail}")
    if isinstance(exc, Dropped):
        return UpstreamError(Failure.SERVER, f"upstream dropped the connection {where}")
    if isinstance(exc, InvalidResponse):
        return UpstreamError(
            Failure.BAD_RESPONSE, f"upstream sent an invalid response: {exc.detail}"
        )
    if isinstance(exc, TooLarge):
        size = f"of {exc.length} bytes " if exc.length is not None else ""
        return UpstreamError(
            Failure.BAD_RESPONSE, f"upstream body {size}is over the {exc.limit} byte limit"
        )
    return UpstreamError(Failure.CONNECT, f"upstream connection failed {where}: {exc.detail}")


def parse_object(raw: bytes | bytearray | memoryview) -> Json:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(Failure.BAD_RESPONSE, f"upstream sent invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UpstreamError(Failure.BAD_RESPONSE, "upstream sent JSON that is not an object")
    return body


class Transport:
    """The connection pools of every provider in this process, and the two calls adapters
    make."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.max_bytes = settings.upstream_max_bytes
        self.client = OutboundClient(
            allowed=settings.allowed_hosts,
            seconds=settings.upstream_timeout,
            connect_seconds=settings.upstream_connect_timeout,
            connections=settings.upstream_connections,
        )

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.client.allowed

    @allowed.setter
    def allowed(self, hosts: tuple[str, ...]) -> None:
        self.client.allowed = hosts

    async def post_json(
        self,
        provider: Provider,
        url: str,
        headers: Mapping[str, str],
        body: Any,
        *,
        seconds: float | None = None,
    ) -> Json:
        """POST `body` as JSON, return the JSON object answered (2xx), or raise; the whole
        exchange may take `seconds` (default: upstream_timeout)."""
        check_url(url, self.client.allowed)  # a refused URL is a BlockedUrl, as the admin API's
        try:
            reply = await self.client.fetch(
                "POST",
                url,
                pool=provider.provider_id,
                data=orjson.dumps(body),
                headers={**JSON_HEADERS, **headers},
                seconds=seconds,
                max_bytes=self.max_bytes,
                error_bytes=ERROR_BODY_MAX,
            )
        except OutboundError as exc:
            raise failure_of(exc, "before answering") from None
        if not reply.ok:
            raise failure_of_status(reply.status, reply.body, reply.headers)
        return parse_object(reply.body)

    async def stream_lines(  # noqa: C901, PLR0915  an SSE reader: bounded reads, timeouts and line framing must share the loop's state
        self,
        provider: Provider,
        url: str,
        headers: Mapping[str, str],
        body: Any,
        *,
        first_byte_timeout: float | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """POST `body` as JSON and yield the `data:` payloads of the SSE answer, one per
        event (multi-line data joined with \\n; `event:`, `id:` and comments skipped).

        The response headers and first event must come within `first_byte_timeout`
        (default: upstream_first_token_timeout), every later read within
        upstream_idle_timeout, and the whole stream within upstream_stream_timeout (an
        upstream trickling a token a second never goes idle); it is bounded by
        upstream_max_bytes."""
        check_url(url, self.client.allowed)
        first = first_byte_timeout or self.settings.upstream_first_token_timeout
        idle = self.settings.upstream_idle_timeout
        total_seconds = self.settings.upstream_stream_timeout
        limit = self.max_bytes
        where = "before the first event"
        capped = False  # whether the read timing out is the whole stream's deadline
        loop = asyncio.get_running_loop()
        # the phases are timed here (first line, then idle between reads): only connecting
        # is bounded by the client
        exchange = self.client.open(
            "POST",
            url,
            seconds=None,
            pool=provider.provider_id,
            data=orjson.dumps(body),
            headers={**SSE_HEADERS, **headers},
        )
        try:
            began = loop.time()
            end_by = began + total_seconds
            deadline = min(began + first, end_by)
            capped = deadline == end_by
            async with asyncio.timeout_at(deadline):
                response = await exchange
            async with exchange:
                if response.status >= 300:
                    async with asyncio.timeout_at(deadline):
                        raw = await read_body(response, ERROR_BODY_MAX, truncate=True)
                    raise failure_of_status(response.status, raw, response.headers)
                content = response.content
                buffer = bytearray()
                data: list[bytes] = []
                total = 0
                started = False
                while True:
                    if started:
                        now = loop.time()
                        capped = now + idle >= end_by
                        if now >= end_by:
                            # a read that does not wait (bytes already buffered) never times out
                            raise TimeoutError
                        async with asyncio.timeout_at(min(now + idle, end_by)):
                            chunk = await content.readany()
                    else:
                        async with asyncio.timeout_at(deadline):
                            chunk = await content.readany()
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > limit:
                        response.close()
                        raise UpstreamError(
                            Failure.BAD_RESPONSE, f"upstream stream is over the {limit} byte limit"
                        )
                    # only the new bytes are searched: a long line costs linear time
                    end = chunk.rfind(b"\n")
                    if end < 0:
                        buffer += chunk
                        continue
                    if buffer:
                        block = bytes(buffer) + chunk[:end]
                        buffer.clear()
                    else:
                        block = chunk[:end]
                    buffer += chunk[end + 1 :]
                    for line in block.split(b"\n"):
                        if line.endswith(b"\r"):
                            line = line[:-1]
                        if not line:
                            if data:
                                yield data[0] if len(data) == 1 else b"\n".join(data)
                                data = []
                                if not started:
                                    started = True
                                    where = "mid-stream"
                            continue
                        if line.startswith(b"data:"):
                            payload = line[5:]
                            data.append(payload[1:] if payload.startswith(b" ") else payload)
                # a last event without its blank line still counts
                if buffer.startswith(b"data:"):
                    payload = bytes(buffer[5:]).rstrip(b"\r")
                    data.append(payload[1:] if payload.startswith(b" ") else payload)
                if data:
                    yield b"\n".join(data)
        except TimeoutError as exc:  # this loop's own deadlines, or the client's TimedOut
            if capped:
                raise UpstreamError(
                    Failure.TIMEOUT, f"upstream stream ran past its {total_seconds:g} s deadline"
                ) from exc
            raise UpstreamError(Failure.TIMEOUT, f"upstream timed out {where}") from exc
        except OutboundError as exc:
            raise failure_of(exc, where) from None

    async def aclose(self) -> None:
        await self.client.aclose()
