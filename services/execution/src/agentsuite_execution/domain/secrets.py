"""What a tenant secret's name may be, and how a binding's `auth` is checked: pure rules."""

from __future__ import annotations

import re

from agentsuite_kit.errors import Invalid

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
MAX_VALUE = 16 * 1024  # characters: a token or a key, never a document
SCHEMES = frozenset({"bearer", "basic", "header", "query"})


def check_name(name: str, field: str = "name") -> str:
    if not NAME.match(name):
        raise Invalid(
            "invalid_secret_name",
            "a secret name is 1-200 letters, digits, `_`, `.` or `-`, starting with a "
            "letter or digit",
            field=field,
        )
    return name


def check_value(value: str) -> str:
    if not value:
        raise Invalid("invalid_secret_value", "a secret value cannot be empty", field="value")
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
