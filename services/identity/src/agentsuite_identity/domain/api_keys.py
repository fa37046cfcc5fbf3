"""API keys, pure: the `ask_<prefix>_<secret>` format, its hash, and the scope rules.

The secret is 32 random bytes, so a single SHA-256 is enough to store it: argon2's cost
protects guessable passwords, not keys with 256 bits of entropy. The prefix is the lookup
key (unique, shown in lists); the secret is shown once, at creation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agentsuite_identity.domain.capabilities import (
    SYSTEM_ROLES,
    expand,
    matches,
    unknown,
    within_org,
)
from agentsuite_identity.domain.errors import Forbidden, Invalid

KEY_MARK = "ask_"
PREFIX_LENGTH = 12
SECRET_BYTES = 32
ORG_ADMIN_ROLES = frozenset({"owner", "admin"})

# one fixed hash to compare against when the prefix is unknown, so a miss costs the same
_DECOY = hashlib.sha256(b"agentsuite-api-key-decoy").digest()


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    token: str  # the whole key, given to the caller once
    secret_hash: bytes


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def generate() -> NewKey:
    # 8 random bytes -> 13 base32 characters; 12 of them carry 60 bits, ample for a
    # unique index (a collision is retried by the caller)
    prefix = base64.b32encode(secrets.token_bytes(8)).decode().lower()[:PREFIX_LENGTH]
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewKey(prefix, f"{KEY_MARK}{prefix}_{secret}", hash_secret(secret))


_PREFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def parse(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    if not token.startswith(KEY_MARK):
        return None
    prefix, sep, secret = token[len(KEY_MARK) :].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or not set(prefix) <= _PREFIX_CHARS:
        return None
    # token_urlsafe may itself contain "_": only the first one separates the prefix
    return (prefix, secret) if len(secret) >= 32 else None


def secret_matches(secret: str, stored: bytes | None) -> bool:
    """Constant-time comparison; `stored` None (unknown prefix) compares with a decoy."""
    same = hmac.compare_digest(hash_secret(secret), stored if stored is not None else _DECOY)
    return same and stored is not None


def check_scopes(scopes: Sequence[str], held: Iterable[str], *, whose: str = "the caller") -> None:
    """Every scope names catalogue capabilities (422, field `scopes[i]`) that `held`
    covers (403): a key never grants more than the person who made it."""
    for i, scope in enumerate(scopes):
        if unknown([scope]):
            raise Invalid("invalid", f"unknown capability {scope!r}", field=f"scopes[{i}]")
    patterns = list(held)
    for i, scope in enumerate(scopes):
        lacking = [c for c in expand([scope]) if not any(matches(p, c) for p in patterns)]
        if lacking:
            raise Forbidden(
                "forbidden",
                f"scopes[{i}] grants {', '.join(sorted(lacking)[:5])}, which {whose} cannot hold",
                field=f"scopes[{i}]",
            )


def org_key_ceiling() -> frozenset[str]:
    """What an org-owned key can ever do: the org admin role's capabilities within an org
    (no tenant administration: the key's token is honoured tenant-wide)."""
    return within_org(SYSTEM_ROLES["admin"])


def effective(scopes: Sequence[str], ceiling: Iterable[str]) -> list[str]:
    """The capabilities a key's token carries: its scopes (empty = all) within `ceiling`."""
    limit = expand(ceiling)
    if not scopes:
        return sorted(limit)
    return sorted(expand(scopes) & limit)
