"""What an outbound call that got no usable answer raises, with the request's secrets masked.

Every failure of aiohttp (or of the socket under it) leaves the client as one of these
kinds, so a service maps kinds to its own errors (retry, fall back, fail the step) without
importing aiohttp's exception tree. The text of the failure is kept (`detail`), but never a
secret of the request: aiohttp quotes the URL in some errors (a query `?api_key=...`), and
an error is shown to callers, written to traces and logged. A secret is the value of a
credential header (Authorization, api keys, cookies, tokens), of a credential query
parameter, or anything the caller names. The aiohttp exception is not chained (`from
None`): a traceback would print it unmasked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit

import aiohttp
import orjson
import yarl

from agentsuite_kit.http.guard import BlockedAddress

__all__ = [
    "FAILURES",
    "MASK",
    "Dropped",
    "InvalidResponse",
    "OutboundError",
    "TargetBlocked",
    "TimedOut",
    "TooLarge",
    "Unreachable",
    "clip",
    "encoded_forms",
    "failure_of",
    "mask",
    "secrets_of",
]

MASK = "***"
_HEX = re.compile(r"%[0-9A-F]{2}")
# shorter values are not masked: replacing every "ab" in a message would garble it, and a
# credential that short protects nothing
SECRET_MIN = 4
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# a header or query parameter whose name holds one of these carries a credential
# (x-api-key, api-key, x-goog-api-key, access_token, client_secret, X-Amz-Signature, ...)
SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "signature", "credential", "auth")
SECRET_PARAMS = frozenset({"sig", "code", "session", "sessionid", "jwt"})


class OutboundError(Exception):
    """An outbound call that got no usable answer. `message` is the client's sentence,
    `detail` the underlying failure's own text (its repr when the kind is not one of the
    subclasses); neither quotes a secret of the request."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class TargetBlocked(OutboundError):
    """The SSRF guard refused the URL, or every address its host resolved to."""


class TimedOut(OutboundError, TimeoutError):
    """No complete answer within the call's bound (a TimeoutError too, so a caller's own
    `asyncio.timeout` and the client's bound are caught alike)."""


class Unreachable(OutboundError):
    """No connection: refused, unresolvable, TLS failed, or a URL aiohttp cannot use."""


class Dropped(OutboundError):
    """The connection was lost while the answer was being read."""


class InvalidResponse(OutboundError):
    """The peer did not answer in valid HTTP."""


class TooLarge(OutboundError):
    """The body is over `limit` bytes (`length`: what it declared, when it did)."""

    def __init__(self, limit: int, length: int | None) -> None:
        size = f"of {length} bytes " if length is not None else ""
        super().__init__(f"the body {size}is over the {limit} byte limit")
        self.limit = limit
        self.length = length


def _credential(name: str) -> bool:
    lower = name.lower()
    return lower in SECRET_PARAMS or any(word in lower for word in SECRET_WORDS)


def secrets_of(
    url: str, headers: Mapping[str, str] | None, extra: Iterable[str | None] = ()
) -> tuple[str, ...]:
    """The request's secrets, longest first: credential header values (and the token of
    an `Authorization: <scheme> <token>`), credential query values as sent and decoded,
    and `extra`. Only called on a failure: the hot path never pays for it."""
    found: set[str] = {s for s in extra if s}
    for name, value in (headers or {}).items():
        if name.lower() in SECRET_HEADERS or _credential(name):
            found.add(value)
            _scheme, _, token = value.partition(" ")
            if token:
                found.add(token.strip())
    try:
        query = urlsplit(url).query
    except ValueError:
        query = ""
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and value and _credential(unquote_plus(name)):
            found.update((value, unquote_plus(value)))
    return tuple(sorted((s for s in found if len(s) >= SECRET_MIN), key=len, reverse=True))


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of each secret replaced by ***."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def encoded_forms(value: str) -> set[str]:
    """`value` and the forms it takes when sent or echoed: in a URL (as urlencode, quote,
    aiohttp and lower-case-hex encoders write it) and in a JSON string (escaped, with and without
    ASCII escapes, and with `/` escaped as some encoders do)."""
    forms = {value, quote_plus(value), quote(value, safe=""), quote(value)}
    # aiohttp sends a URL as yarl requotes it: `/ ? : @ ! $ ' ( ) * ,` decoded again
    forms.add(yarl.URL(f"http://x/?k={quote_plus(value)}").raw_query_string[2:])
    forms |= {_HEX.sub(lambda m: m.group().lower(), f) for f in forms if "%" in f}
    # orjson: the minimal escapes; json's default: every non-ASCII character escaped
    for encoded in (orjson.dumps(value).decode()[1:-1], _ascii_json(value)):
        forms |= {encoded, encoded.replace("/", "\\/")}
    return forms


def _ascii_json(value: str) -> str:
    return json.dumps(value)[1:-1]


def clip(text: str, secrets: Iterable[str], limit: int, *, truncated: bool = False) -> str:
    """`text` masked, then cut to `limit` characters: masking after a cut would miss a
    secret the cut runs through and leave its start. `truncated`: `text` is itself the
    start of a longer one (a body read up to a bound), so a secret may be cut at its end;
    whatever the end has of the start of a secret is dropped too."""
    secrets = tuple(secrets)
    text = mask(text, secrets)
    if len(text) > limit:
        text, truncated = text[:limit], True
    if truncated:
        text = text[: len(text) - _partial(text, secrets)]
    return text


def _partial(text: str, secrets: tuple[str, ...]) -> int:
    """The length of the longest end of `text` that is the start of a secret."""
    longest = 0
    for secret in secrets:
        for n in range(min(len(secret) - 1, len(text)), longest, -1):
            if text.endswith(secret[:n]):
                longest = n
                break
    return longest


FAILURES = (aiohttp.ClientError, TimeoutError, OSError)
"""What aiohttp raises for a failed exchange; `failure_of` turns each into an OutboundError."""


def failure_of(exc: BaseException, secrets: tuple[str, ...]) -> OutboundError:
    """The OutboundError for one of FAILURES (an OutboundError is returned as it is)."""
    if isinstance(exc, OutboundError):
        return exc
    detail = mask(str(exc), secrets)
    if isinstance(exc, TimeoutError):  # asyncio's and aiohttp's timeouts all are
        return TimedOut("no answer in time", detail=detail)
    if isinstance(exc, aiohttp.ClientConnectorDNSError) and isinstance(
        exc.os_error, BlockedAddress
    ):
        blocked = mask(str(exc.os_error), secrets)
        return TargetBlocked(blocked, detail=blocked)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
        return Unreachable("could not connect", detail=detail)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return Dropped("the connection dropped", detail=detail)
    if isinstance(exc, aiohttp.ClientResponseError):
        return InvalidResponse("the answer is not valid HTTP", detail=detail)
    return OutboundError("the call failed", detail=mask(repr(exc), secrets))
