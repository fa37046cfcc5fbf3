"""The SSRF guard: outbound URLs a tenant configures may not reach our own network.

Shared by every service that calls URLs a tenant supplies (llm-gateway's providers,
execution's `http` tools). Two checks, because neither alone is enough. `check_url` refuses
other schemes and IP literals in an internal range (aiohttp never calls the resolver for a
literal). `GuardedResolver` refuses internal addresses at resolve time, on every new
connection, and aiohttp connects to exactly the addresses it returns, so a name that
resolved to a public address when it was saved and to 127.0.0.1 now (DNS rebinding) still
goes nowhere. Redirects are never followed (a public server could bounce a call inward
to a literal the resolver never sees). The outbound client (agentsuite_kit.outbound) applies
all three; call it rather than aiohttp. An operator opens holes with `allowed_hosts`: host
names (exact) or CIDR ranges.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = [
    "Allowed",
    "Blocked",
    "BlockedAddress",
    "GuardedResolver",
    "allowed_of",
    "check_address",
    "check_url",
    "internal",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = frozenset({"http", "https"})
# ranges Python's `is_global` lets through on some versions although nothing public lives
# there: CGNAT (shared by a carrier's customers) and IETF protocol assignments
NOT_PUBLIC_V4 = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("192.0.0.0/24"))
# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64): the embedded
# address decides, or ::ffff:a.b.c.d-style tricks would reach 127.0.0.1 through a gateway
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1: legacy numeric forms resolvers map onto addresses
NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


class Blocked(ValueError):
    """The guard refused a URL or an address; `message` says why and how to permit it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BlockedAddress(OSError):
    """Raised by the resolver: aiohttp wraps OSErrors of the resolver into
    ClientConnectorDNSError (`os_error`), where a caller tells a refusal from a failure."""


@dataclass(frozen=True, slots=True)
class Allowed:
    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def address(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)


@lru_cache(maxsize=64)
def allowed_of(entries: tuple[str, ...]) -> Allowed:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return Allowed(frozenset(names), tuple(networks))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def internal(ip: IPAddress) -> bool:
    """True when `ip` is not a public unicast address (loopback, private, link-local incl.
    the cloud metadata address, unspecified, multicast, reserved, CGNAT, or an IPv6 form
    of one of those)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the socket connects to the IPv4 address itself
            return internal(ip.ipv4_mapped)
        inner = _embedded_v4(ip)
        if inner is not None and internal(inner):
            return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
        or (ip.version == 4 and any(ip in net for net in NOT_PUBLIC_V4))
    )


def check_address(host: str, ip: IPAddress, allowed: tuple[str, ...]) -> None:
    """Raise Blocked when `ip` (what `host` resolved to) is internal and not allowed."""
    if not internal(ip):
        return
    permitted = allowed_of(allowed)
    if permitted.name(host) or permitted.address(ip):
        return
    raise Blocked(
        f"{host} resolves to {ip}, an internal address (add it to allowed_hosts to permit it)"
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def check_url(url: str, allowed: tuple[str, ...]) -> None:
    """Raise Blocked unless `url` is http(s) with a host, and that host, if an IP
    literal, is public or allowed. Names are checked again when they resolve."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise Blocked(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise Blocked(f"scheme {parts.scheme or '(none)'!r} not allowed: use http or https")
    if not host:
        raise Blocked("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise Blocked("credentials in the URL are not allowed: keep secrets out of URLs")
    try:
        # the host as aiohttp will connect to it: yarl folds IDNA forms such as full-width
        # digits into ASCII, which would otherwise slip an internal literal past this check
        connected = yarl.URL(url).host or host
    except ValueError as exc:
        raise Blocked(f"not a valid URL: {exc}") from None
    for name in dict.fromkeys((host, connected)):
        ip = _literal(name)
        if ip is not None:
            check_address(name, ip, allowed)
        elif NUMERIC_HOST.match(name):
            raise Blocked(f"host {name!r} is a numeric address in a non-canonical form")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing internal addresses unless allowed. Of a name's
    addresses only the permitted ones are returned; none left is a BlockedAddress."""

    def __init__(self, allowed: tuple[str, ...], inner: AbstractResolver | None = None) -> None:
        self.allowed = allowed
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refusal: Blocked | None = None
        for result in results:
            ip = _literal(result["host"])
            if ip is None:
                continue
            try:
                check_address(host, ip, self.allowed)
            except Blocked as exc:
                refusal = exc
                continue
            kept.append(result)
        if not kept:
            raise BlockedAddress(refusal.message if refusal else f"{host}: no usable address")
        return kept

    async def close(self) -> None:
        await self.inner.close()
