"""The Toolbox: what the engine calls to run one tool step's attempt."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver

from agentsuite_contracts.catalog import BindingKind
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import mcp, webhook
from agentsuite_execution.tools.builtins import BUILTINS
from agentsuite_execution.tools.calls import Call, ToolError
from agentsuite_execution.tools.credentials import masked
from agentsuite_kit.outbound import OutboundClient, mask
from agentsuite_kit.storable import escape_text, escaped, unstorable

USER_AGENT = "agentsuite-execution"


class Toolbox:
    """Invokes tools by their binding: builtins in process, `http` tools over the kit's
    outbound client (its session opened on first use, so a Toolbox can be built outside an
    event loop). `resolver` is the name resolution under the SSRF guard, for `http` and
    `mcp` tools (tests pin names with it)."""

    def __init__(
        self, settings: ExecutionSettings, *, resolver: AbstractResolver | None = None
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.client = OutboundClient(
            allowed=settings.allowed_hosts,
            seconds=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            resolver=resolver,
        )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The `http` tools' connection pool; None until one has run."""
        return self.client.sessions.get(None)

    async def invoke(self, call: Call) -> Any:
        """The tool's output (JSON), or a ToolError.

        What a tool answers is kept in PostgreSQL (the step's output or error): an output
        it cannot hold (NUL, a lone surrogate, NaN) fails the step as `invalid_output`, not
        retryable. Not stored escaped: an output feeds later steps' inputs, where a silently
        rewritten value (an id, a hash) would do harm further on; a plan can branch on the
        code. An error's own text is only read by people, so it is kept escaped."""
        secrets = call.credential.masked if call.credential is not None else ()
        try:
            output = masked(await self._invoke(call), secrets)
        except ToolError as exc:
            exc.message = escape_text(mask(exc.message, secrets))
            exc.details = escaped(masked(exc.details, secrets))
            raise
        found = unstorable(output)
        if found is not None:
            where = f"at {found.path} " if found.path else ""
            raise ToolError(
                "invalid_output",
                f"the tool's output {where}{found.reason}, which cannot be stored",
                details={"path": found.path},
            )
        return output

    async def _invoke(self, call: Call) -> Any:
        kind = call.binding.kind
        if kind == BindingKind.BUILTIN:
            builtin = BUILTINS.get(call.binding.target)
            if builtin is None:
                raise ToolError(
                    "unknown_builtin",
                    f"there is no builtin tool {call.binding.target!r} "
                    f"(builtins: {', '.join(BUILTINS)})",
                )
            return await builtin(call.input, call)
        if kind == BindingKind.HTTP:
            return await webhook.send(
                self.client,
                call,
                seconds=min(call.timeout, self.settings.http_timeout),
                max_bytes=self.settings.http_max_bytes,
            )
        if kind == BindingKind.MCP:
            return await mcp.send(
                call,
                allowed=self.settings.allowed_hosts,
                seconds=min(call.timeout, self.settings.http_timeout),
                max_bytes=self.settings.http_max_bytes,
                user_agent=USER_AGENT,
                resolver=self.resolver,
            )
        raise ToolError(
            "unsupported_binding",
            f"execution cannot invoke tools bound as {str(kind)!r} yet: only `http`, `mcp` "
            "and `builtin` tools run; rebind the tool or run it behind an `http` endpoint",
            details={"kind": str(kind)},
        )

    async def aclose(self) -> None:
        await self.client.aclose()
