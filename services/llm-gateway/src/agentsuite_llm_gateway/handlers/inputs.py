"""What catalogue commands accept beyond their types: values PostgreSQL can store, options
of bounded size and depth, and provider headers that can neither re-target nor smuggle a
call nor keep a secret in plain text."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from agentsuite_kit.storable import text_flaw
from agentsuite_llm_gateway.domain.errors import Code, GatewayError

MAX_OPTIONS_BYTES = 64 * 1024
# stricter than the kit's MAX_JSON_DEPTH (64), which bounds every body and event as a whole:
# options sit inside a stored route and need no more
MAX_OPTIONS_DEPTH = 32


def invalid(field: str, message: str) -> GatewayError:
    return GatewayError(Code.INVALID_REQUEST, message, param=field)


def storable(value: Any) -> bool:
    """PostgreSQL's text and JSONB hold no NUL, no lone surrogate, no non-finite number."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return text_flaw(value) is None
    return True


def json_refusal(value: Any) -> str | None:
    """Why `value` cannot be stored as JSONB (None: it can). Iterative, and nesting is
    bounded: a deep document must be a 422, not a RecursionError's 500."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_OPTIONS_DEPTH:
            return f"nested deeper than {MAX_OPTIONS_DEPTH} levels"
        if isinstance(item, dict):
            for key, inner in item.items():
                if not storable(key):
                    return "a key contains NUL or an unpaired surrogate"
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif not storable(item):
            return "contains NUL, an unpaired surrogate or a non-finite number"
    return None


# headers options may not set: where the call goes and how its message is framed
FRAMING = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"}
    | {"te", "trailer", "expect", "proxy-connection"}
)
# header names that carry secrets: their values are sealed as the credential, never kept
SECRET_HINTS = ("auth", "key", "token", "secret", "cookie", "password", "signature")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


def _sendable(value: str) -> bool:
    """No control character: one would split or smuggle a header."""
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def _header_refusal(options: dict[str, Any]) -> str | None:
    headers = options.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            return "headers: must be an object of header names to strings"
        for name, value in headers.items():
            if not _TOKEN.match(name):
                return f"headers: {name[:40]!r} is not a header name"
            if name.lower() in FRAMING or name.lower().startswith("proxy-"):
                return f"headers: {name} is the gateway's to set"
            if not isinstance(value, str) or not _sendable(value):
                return f"headers.{name}: must be a string without control characters"
    auth = options.get("auth_header")
    if auth is not None and (
        not isinstance(auth, str) or not _TOKEN.match(auth) or auth.lower() in FRAMING
    ):
        return "auth_header: must be a header name"
    return None


def secret_header(options: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """(options without secret-bearing headers, the header's name, its value). A key sent
    in `api-key`/`x-api-key` (Azure, proxies) becomes the credential, sealed like any
    other, and `auth_header` names where the adapter sends it; `Authorization: Bearer`
    is the default and needs no name."""
    headers = dict(options.get("headers") or {})
    found = [n for n in headers if any(hint in n.lower() for hint in SECRET_HINTS)]
    if not found:
        return options, None, None
    if len(found) > 1:
        raise invalid("options.headers", "at most one header may carry a secret")
    name = found[0]
    value = headers.pop(name)
    kept = {**options, "headers": headers}
    if not headers:
        del kept["headers"]
    if name.lower() == "authorization" and value.lower().startswith("bearer "):
        return kept, name, value[len("bearer ") :].strip()
    return {**kept, "auth_header": name}, name, value


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("options", mode="after", check_fields=False)
    @classmethod
    def _options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        refusal = json_refusal(value) or _header_refusal(value)
        if refusal is not None:
            raise ValueError(refusal)
        if len(json.dumps(value)) > MAX_OPTIONS_BYTES:
            raise ValueError(f"at most {MAX_OPTIONS_BYTES} bytes of JSON")
        return value

    @field_validator("credential", mode="after", check_fields=False)
    @classmethod
    def _credential(cls, value: SecretStr | None) -> SecretStr | None:
        # the message never quotes the value: it is a secret
        if value is not None:
            secret = value.get_secret_value()
            if not storable(secret) or not _sendable(secret):
                raise ValueError("contains a control character or an unpaired surrogate")
        return value
