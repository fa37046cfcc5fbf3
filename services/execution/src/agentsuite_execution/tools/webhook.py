"""`http` tools: the input POSTed (by default) as JSON to the binding's URL, or split
into path, query, header and body by the binding's `params` (see `placement`).

The answer: a JSON body (Content-Type `application/json` or `*+json`, or none or
`application/octet-stream` and a body that parses) is the output as parsed; an empty body
is null; any other body is the output as a string. Statuses other than
`success_statuses` (default: 2xx) fail: 5xx and 429 retryable, 4xx not, a 3xx not either,
because redirects are never followed (a public hook could bounce the call to an internal
literal the resolver never sees).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson

from agentsuite_execution.tools.calls import Call, ToolError
from agentsuite_execution.tools.credentials import clipped
from agentsuite_execution.tools.placement import NO_BODY, fill, params_of, split
from agentsuite_kit.credentials import CREDENTIAL_HEADERS as SECRET
from agentsuite_kit.credentials import TOKEN, reserved_header
from agentsuite_kit.outbound import (
    OutboundClient,
    OutboundError,
    Reply,
    TargetBlocked,
    TimedOut,
    TooLarge,
)

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# header rules (names, reserved, credential headers) are the kit's, shared with catalog
BAD_VALUE = re.compile(r"[\r\n\x00]")
SNIPPET = 512  # characters of an error body kept in the ToolError's details
# bytes of an error body read: far more than SNIPPET, so the body is masked whole (a
# secret the read cuts through is dropped by `clipped`) before it is cut to SNIPPET
ERROR_READ = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]
    success: frozenset[int] | None  # None: any 2xx
    body: bytes | None = None


def invalid(message: str) -> ToolError:
    return ToolError("invalid_binding", message)


def check_headers(headers: Any) -> dict[str, str]:
    """The binding's `headers` config, validated: a JSON object of header names to strings,
    none of them hop-by-hop, framing, idempotency or credential headers."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise invalid("config.headers must be an object of header names to string values")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not TOKEN.match(name):
            raise invalid(f"config.headers: {name!r} is not a valid header name")
        lower = name.lower()
        if reserved_header(name):
            raise invalid(f"config.headers: {name} is set by execution itself, not by a tool")
        if lower in SECRET:
            raise invalid(
                f"config.headers: {name} carries a credential; binding config is not secret "
                "storage, so credentials cannot be set there"
            )
        if not isinstance(value, str) or BAD_VALUE.search(value):
            raise invalid(f"config.headers: {name} must be a single-line string")
        checked[name] = value
    return checked


def check_param_headers(params: Mapping[str, str], fixed: Mapping[str, str]) -> None:
    """Header parameters may not be ones execution sets (the credential, framing,
    idempotency, Content-Type of the JSON body) nor one the binding fixes."""
    taken = {name.lower() for name in fixed}
    for name, where in params.items():
        if where != "header":
            continue
        lower = name.lower()
        if not TOKEN.match(name):
            raise invalid(f"config.params: {name!r} is not a valid header name")
        if reserved_header(name) or lower in SECRET or lower == "content-type" or lower in taken:
            raise invalid(f"config.params: header {name} is set by execution or the binding")


def request_of(call: Call) -> Request:
    """The request a call sends; invalid_binding for config that cannot be sent,
    invalid_input for an input that does not fit it."""
    config = call.binding.config
    method = config.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise invalid(f"config.method must be one of {', '.join(sorted(METHODS))}")
    method = method.upper()
    success = config.get("success_statuses")
    if success is not None:
        if not isinstance(success, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in success
        ):
            raise invalid("config.success_statuses must be a list of HTTP statuses (100-599)")
        success = frozenset(success)
    headers = check_headers(config.get("headers"))
    template = call.binding.target
    params = params_of(config, template)
    if params is None:
        placed = fill(template, method, call.input)
    else:
        check_param_headers(params, headers)
        placed = split(template, params, method, call.input)
    try:
        body = None if placed.body is NO_BODY else orjson.dumps(placed.body)
    except TypeError as exc:
        raise ToolError("invalid_input", f"the tool input is not JSON: {exc}") from None
    return Request(method, placed.url, {**headers, **placed.headers}, success, body)


def too_large(limit: int, length: int | None) -> ToolError:
    size = f"of {length} bytes " if length is not None else ""
    return ToolError(
        "response_too_large",
        f"the tool's response {size}is over the {limit} byte limit (http_max_bytes)",
        details={"limit": limit},
    )


def text_of(reply: Reply, raw: bytes) -> str:
    try:
        return raw.decode(reply.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def output_of(reply: Reply) -> Any:
    raw = reply.body
    if not raw:
        return None
    kind = reply.content_type
    # no type, or aiohttp's stand-in for none: JSON if it parses, else text
    declared = "Content-Type" in reply.headers and kind != "application/octet-stream"
    if not declared or kind == "application/json" or kind.endswith("+json"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if declared:
                raise ToolError(
                    "bad_response", f"the tool answered {kind} that is not valid JSON: {exc}"
                ) from None
    return text_of(reply, raw)


def refusal_of(reply: Reply, secrets: tuple[str, ...] = ()) -> ToolError:
    """The error of a refused call: its body masked first, then cut (a cut through a
    secret echoed in it would leave its start where no mask can find it)."""
    status = reply.status
    truncated = len(reply.body) >= ERROR_READ
    text = text_of(reply, reply.body)
    if truncated:  # a character the read cut in two decodes as U+FFFD
        text = text.rstrip("\ufffd")
    body = clipped(text, secrets, SNIPPET, truncated=truncated)
    details: dict[str, Any] = {"status": status, "body": body}
    if 300 <= status < 400:
        details["location"] = reply.headers.get("Location")
        return ToolError(
            "tool_error",
            f"the tool answered {status} (a redirect to {details['location']}); redirects "
            "are not followed: point the binding at the final URL",
            details=details,
        )
    retryable = status >= 500 or status == 429
    wait = retry_after(reply.headers.get("Retry-After"))
    if retryable and wait is not None:
        details["retry_after"] = wait  # seconds; the engine may wait longer, never less
    return ToolError(
        "tool_error", f"the tool answered {status}", retryable=retryable, details=details
    )


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds when given as seconds (an HTTP date is ignored)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query (a credential's `query` scheme)."""
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def forbidden(message: str) -> ToolError:
    return ToolError("forbidden_target", message)


async def send(client: OutboundClient, call: Call, *, seconds: float, max_bytes: int) -> Any:
    """Call the `http` tool of `call`; its output, or a ToolError."""
    request = request_of(call)
    try:
        client.check(request.url)
    except TargetBlocked as exc:
        raise forbidden(exc.message) from None
    body = request.body
    headers = {
        **request.headers,
        "Idempotency-Key": call.key,
        "X-Agentsuite-Attempt": str(call.attempt),
        "X-Agentsuite-Execution": str(call.execution_id),
        "X-Agentsuite-Step": call.step,
    }
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    url, secrets = request.url, tuple[str, ...]()
    if call.credential is not None:
        # after the binding's own headers: a binding cannot override its credential
        headers.update(call.credential.headers())
        url = with_query(url, call.credential.query())
        secrets = call.credential.masked
    try:
        reply = await client.fetch(
            request.method,
            url,
            data=body,
            headers=headers,
            secrets=secrets,
            seconds=seconds,
            max_bytes=max_bytes,
            ok=request.success,
            error_bytes=ERROR_READ,
        )
    except TimedOut:
        raise ToolError(
            "timeout", f"the tool did not answer within {seconds} s", retryable=True
        ) from None
    except TargetBlocked as exc:  # an address the name resolved to
        raise forbidden(exc.message) from None
    except TooLarge as exc:
        raise too_large(exc.limit, exc.length) from None
    except OutboundError as exc:
        raise unreachable(exc) from None
    if not reply.ok:
        raise refusal_of(reply, secrets)
    return output_of(reply)


def unreachable(exc: OutboundError) -> ToolError:
    return ToolError("network_error", f"could not reach the tool: {exc.detail}", retryable=True)
