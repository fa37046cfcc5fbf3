"""The SSRF guard for provider base URLs: the kit's guard (agentsuite_kit.http.guard),
its refusals raised as the gateway's BlockedUrl. Redirects are never followed (the kit's
outbound client, under transport.py), so a public upstream cannot bounce a call inward either.
"""

from __future__ import annotations

from agentsuite_kit.http import guard
from agentsuite_kit.http.guard import (
    Allowed,
    BlockedAddress,
    GuardedResolver,
    allowed_of,
    internal,
)
from agentsuite_llm_gateway.upstream.base import Failure, UpstreamError

__all__ = [
    "Allowed",
    "BlockedAddress",
    "BlockedUrl",
    "GuardedResolver",
    "allowed_of",
    "check_address",
    "check_url",
    "internal",
]


class BlockedUrl(UpstreamError, ValueError):
    """The SSRF guard refused a URL: an UpstreamError(BLOCKED) to the router, a ValueError
    (422) to the admin API that validates base URLs."""

    def __init__(self, message: str) -> None:
        super().__init__(Failure.BLOCKED, message)


def check_url(url: str, allowed: tuple[str, ...]) -> None:
    """Raise BlockedUrl unless `url` is http(s) with a host, and that host, if an IP
    literal, is public or allowed (names are checked when they resolve: GuardedResolver)."""
    try:
        guard.check_url(url, allowed)
    except guard.Blocked as exc:
        raise BlockedUrl(exc.message) from None


def check_address(host: str, ip: guard.IPAddress, allowed: tuple[str, ...]) -> None:
    """Raise BlockedUrl when `ip` (what `host` resolved to) is internal and not allowed."""
    try:
        guard.check_address(host, ip, allowed)
    except guard.Blocked as exc:
        raise BlockedUrl(exc.message) from None
