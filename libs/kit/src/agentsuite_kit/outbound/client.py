"""One guarded aiohttp client for every URL a tenant (or an operator) gives a service.

A service calls out to addresses it does not control: the gateway to model providers,
execution to `http` tools, later catalog and discovery to endpoints they index. Every such
call goes through an OutboundClient, which holds the rules once:

- the SSRF guard (agentsuite_kit.http.guard) on the URL before anything is sent, and on
  every address the host resolves to, at connect time (DNS rebinding goes nowhere);
- redirects are never followed (a public server could bounce a call to an internal
  literal the resolver never sees): a 3xx is an answer like any other;
- every exchange is bounded in time (the whole of it, connecting and reading included)
  and its body in bytes (an oversized answer is dropped unread, not buffered);
- no proxy from the environment, no cookies carried between calls (between tenants);
- a failure leaves as an OutboundError (errors.py) that never quotes a secret.

Tests inject what they must not get from the network: `resolver` answers names (under the
guard, which still checks every address it returns), `connector` builds the transport the
sessions use from the guarded resolver (a factory that does not connect through that
resolver bypasses the address check: only a test should pass one that does).

`fetch` is the whole exchange, read into memory; `open` leaves the body to the caller (a
stream) and still translates aiohttp's failures. The success path costs next to nothing
over calling aiohttp directly (a memoised URL check, two dictionary lookups): secrets are
only looked for when a call fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Container, Generator, Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy

from agentsuite_kit.http import guard
from agentsuite_kit.outbound.errors import (
    FAILURES,
    OutboundError,
    TargetBlocked,
    TooLarge,
    failure_of,
    mask,
    secrets_of,
)

__all__ = ["ConnectorFactory", "Exchange", "OutboundClient", "Reply", "read_body", "tcp_connector"]

ConnectorFactory = Callable[[AbstractResolver, int], aiohttp.BaseConnector]
"""(guarded resolver, connection limit) -> the connector a session of the client uses."""

ERROR_BYTES = 64 * 1024  # of a refusal's body: read for its message only
TIMEOUTS_MAX = 64  # distinct per-call bounds remembered; past it the memo starts over


def tcp_connector(resolver: AbstractResolver, limit: int) -> aiohttp.BaseConnector:
    """The default transport: pooled TCP (and TLS) connections through `resolver`."""
    return aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=0,
        resolver=resolver,  # every new connection goes to an address the guard checked
        ttl_dns_cache=10,  # short: the guard must see a rebinding soon
        keepalive_timeout=30.0,
    )


async def read_body(
    response: aiohttp.ClientResponse, limit: int, *, truncate: bool = False
) -> bytes:
    """The body, at most `limit` bytes: over it is TooLarge (with `truncate`, the first
    `limit` bytes) and the connection is dropped unread."""
    length = response.content_length
    # a declared length is of the encoded body: with Content-Encoding it bounds nothing
    if length is not None and "Content-Encoding" not in response.headers:
        if length <= limit:
            return await response.read()  # the fast path: one read, length trusted
        if not truncate:
            response.close()
            raise TooLarge(limit, length)
    buffer = bytearray()
    async for chunk in response.content.iter_any():
        buffer += chunk
        if len(buffer) > limit:
            response.close()
            if truncate:
                return bytes(buffer[:limit])
            raise TooLarge(limit, None)
    return bytes(buffer)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a call per field, every call
class Reply:
    """A whole answer: `ok` when its status is one the call accepts (by default 2xx);
    `body` is bounded by `max_bytes` when ok, else truncated to `error_bytes`."""

    status: int
    ok: bool
    body: bytes
    response: aiohttp.ClientResponse  # released; read for its headers only

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.response.headers

    @property
    def content_type(self) -> str:
        return self.response.content_type

    @property
    def charset(self) -> str | None:
        return self.response.charset


class Exchange:
    """A request whose body the caller reads: `response = await exchange` (the status
    and headers have come), then `async with exchange:` around the reads, which releases
    the connection on the way out; or `async with exchange as response:` at once.
    aiohttp's failures on the way in and out leave as OutboundError, secrets masked."""

    __slots__ = ("_context", "_headers", "_response", "_secrets", "_url")

    def __init__(
        self,
        context: Any,  # aiohttp's request context manager: a private type
        url: str,
        headers: Mapping[str, str] | None,
        secrets: Iterable[str | None],
    ) -> None:
        self._context = context
        self._url = url
        self._headers = headers
        self._secrets = tuple(secrets)
        self._response: aiohttp.ClientResponse | None = None

    def _failure(self, exc: BaseException) -> OutboundError:
        return failure_of(exc, secrets_of(self._url, self._headers, self._secrets))

    async def _start(self) -> aiohttp.ClientResponse:
        if self._response is None:
            try:
                self._response = await self._context
            except FAILURES as exc:
                raise self._failure(exc) from None
        return self._response

    def __await__(self) -> Generator[Any, None, aiohttp.ClientResponse]:
        return self._start().__await__()

    async def __aenter__(self) -> aiohttp.ClientResponse:
        response = await self._start()
        return await response.__aenter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.__aexit__(kind, exc, tb)
        if isinstance(exc, FAILURES) and not isinstance(exc, OutboundError):
            raise self._failure(exc) from None


class OutboundClient:
    """Guarded, bounded HTTP. Sessions (connection pools) are made on first use, so a
    client can be built outside an event loop; `pool` keys separate ones (the gateway keeps
    one per provider, so a slow provider cannot starve another's connections).

    `allowed` opens holes in the SSRF guard (host names, exact, or CIDR ranges); it is
    read by every URL check and, for resolved addresses, when the first session is made.
    `seconds` bounds a `fetch` that names no bound; `connect_seconds` bounds connecting
    (within the call's bound); `connections` caps each pool; `headers` go with every call.
    """

    def __init__(
        self,
        *,
        allowed: Iterable[str] = (),
        seconds: float = 30.0,
        connect_seconds: float | None = None,
        connections: int = 100,
        headers: Mapping[str, str] | None = None,
        resolver: AbstractResolver | None = None,
        connector: ConnectorFactory | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self.seconds = seconds
        self.connect_seconds = connect_seconds
        self.connections = connections
        self.headers = dict(headers) if headers else None
        self.resolver = resolver
        self.connector = connector or tcp_connector
        self.sessions: dict[Hashable, aiohttp.ClientSession] = {}
        self.guarded: guard.GuardedResolver | None = None
        self.timeouts: dict[float | None, aiohttp.ClientTimeout] = {}

    def check(self, url: str, secrets: Iterable[str | None] = ()) -> None:
        """Raise TargetBlocked unless the guard lets `url` through (its host name is
        checked again, address by address, when it resolves)."""
        try:
            guard.check_url(url, self.allowed)
        except guard.Blocked as exc:
            message = mask(exc.message, secrets_of(url, None, secrets))
            raise TargetBlocked(message, detail=message) from None

    def timeout(self, seconds: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's bound for a call of `seconds` in all (None: the caller times it)."""
        found = self.timeouts.get(seconds)
        if found is None:
            connect = self.connect_seconds
            if connect is not None and seconds is not None:
                connect = min(seconds, connect)
            found = aiohttp.ClientTimeout(total=seconds, connect=connect)
            if len(self.timeouts) >= TIMEOUTS_MAX:
                self.timeouts.clear()
            self.timeouts[seconds] = found
        return found

    def session(self, pool: Hashable = None) -> aiohttp.ClientSession:
        """The pool's session, made on first use (and again once closed)."""
        session = self.sessions.get(pool)
        if session is None or session.closed:
            if self.guarded is None:
                self.guarded = guard.GuardedResolver(self.allowed, self.resolver)
            session = aiohttp.ClientSession(
                connector=self.connector(self.guarded, self.connections),
                timeout=self.timeout(self.seconds),
                headers=self.headers,
                trust_env=False,  # no proxy from the environment to route around the guard
                cookie_jar=aiohttp.DummyCookieJar(),  # never carry state between tenants
                raise_for_status=False,
            )
            self.sessions[pool] = session
        return session

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        pool: Hashable = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        seconds: float | None = None,
        max_bytes: int,
        ok: Container[int] | None = None,
        error_bytes: int = ERROR_BYTES,
        secrets: Iterable[str | None] = (),
    ) -> Reply:
        """Send one request and read its whole answer within `seconds` (default: the
        client's). A status in `ok` (default: 2xx) has its body read up to `max_bytes`
        (over it: TooLarge); any other, up to `error_bytes`, the rest dropped. Raises
        OutboundError; `secrets` are masked in it besides the request's own credentials."""
        self.check(url, secrets)
        bound = self.timeout(self.seconds if seconds is None else seconds)
        try:
            async with self.session(pool).request(
                method, url, data=data, headers=headers, allow_redirects=False, timeout=bound
            ) as response:
                status = response.status
                accepted = 200 <= status < 300 if ok is None else status in ok
                if accepted:
                    body = await read_body(response, max_bytes)
                else:
                    body = await read_body(response, error_bytes, truncate=True)
                return Reply(status, accepted, body, response)
        except FAILURES as exc:
            raise failure_of(exc, secrets_of(url, headers, secrets)) from None

    def open(
        self,
        method: str,
        url: str,
        *,
        seconds: float | None,
        pool: Hashable = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
    ) -> Exchange:
        """Start a request whose body the caller reads (see Exchange). `seconds` bounds the
        whole exchange; None leaves it to the caller, who must then time every read (only
        connecting stays bounded, by `connect_seconds`). Raises TargetBlocked at once."""
        self.check(url, secrets)
        context = self.session(pool).request(
            method,
            url,
            data=data,
            headers=headers,
            allow_redirects=False,
            timeout=self.timeout(seconds),
        )
        return Exchange(context, url, headers, secrets)

    async def aclose(self) -> None:
        """Close every session, and the resolver the client made."""
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        guarded, self.guarded = self.guarded, None
        # a resolver the caller passed is the caller's to close
        if guarded is not None and self.resolver is None:
            await guarded.close()
