"""What a tool credential may be named and sent as: one rule for catalog (which accepts a
binding naming it) and execution (which stores the secret and sends it). Two copies of a
rule drift apart, and then a tool publishes whose credential can never be stored or sent.

Pure rules: no I/O.
"""

from __future__ import annotations

import re

from agentsuite_kit.errors import Invalid

__all__ = [
    "CREDENTIAL_HEADERS",
    "MIN_SECRET",
    "OWN_PREFIX",
    "RESERVED_HEADERS",
    "SECRET_NAME",
    "TOKEN",
    "check_secret_name",
    "reserved_header",
]

SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
# characters: a shorter value is guessable, and masking it in a tool's output would replace
# every occurrence of a common word or number
MIN_SECRET = 8
# an HTTP header name (RFC 9110 token), bounded
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# headers execution sets on every call or that frame the connection: neither a binding's
# config, an input parameter nor a credential may set them (execution would override, or
# the request would be malformed)
RESERVED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
        "idempotency-key",
    }
)
OWN_PREFIX = "x-agentsuite-"
# headers that carry credentials: only an `auth` (a secret by name) may send them, never
# binding config (published in events, shown by the API)
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def reserved_header(name: str) -> bool:
    """Whether execution sets `name` itself (or it frames the connection)."""
    lower = name.lower()
    return lower in RESERVED_HEADERS or lower.startswith(OWN_PREFIX)


def check_secret_name(name: str, field: str = "name") -> str:
    """A tenant secret's name, as execution stores it and a binding's `auth` names it."""
    if not SECRET_NAME.match(name):
        raise Invalid(
            "invalid_secret_name",
            "a secret name is 1-200 letters, digits, `_`, `.` or `-`, starting with a "
            "letter or digit",
            field=field,
        )
    return name
