"""What a tenant secret's name may be, and how a binding's `auth` is checked: pure rules."""

from __future__ import annotations

from agentsuite_kit.credentials import MIN_SECRET, check_secret_name
from agentsuite_kit.errors import Invalid

MAX_VALUE = 16 * 1024  # characters: a token or a key, never a document
SCHEMES = frozenset({"bearer", "basic", "header", "query"})


def check_name(name: str, field: str = "name") -> str:
    # the kit's rule: catalog refuses a binding naming a secret this could not store
    return check_secret_name(name, field)


def check_value(value: str) -> str:
    if not value:
        raise Invalid("invalid_secret_value", "a secret value cannot be empty", field="value")
    if len(value) < MIN_SECRET:
        raise Invalid(
            "invalid_secret_value",
            f"a secret value is at least {MIN_SECRET} characters: a shorter one is guessable",
            field="value",
        )
    if len(value) > MAX_VALUE:
        raise Invalid(
            "invalid_secret_value",
            f"a secret value is at most {MAX_VALUE} characters",
            field="value",
        )
    if any(c in value for c in "\r\n\x00"):
        # it is sent in a header: a line break would split the request
        raise Invalid(
            "invalid_secret_value",
            "a secret value is one line (no CR, LF or NUL)",
            field="value",
        )
    return value
