"""A resolver that answers every name with fixed addresses: what a test injects as the
client's `resolver` to play a hostile DNS (a public name rebound to 127.0.0.1) or to reach
a local server by name. The SSRF guard still judges each address it returns."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["PinnedResolver"]


class PinnedResolver(AbstractResolver):
    """Every name resolves to `addresses` (in order); `asked` lists the names looked up."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass
