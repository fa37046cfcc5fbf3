"""The request and response bodies of the tool routes, and their mapping to commands."""

# no `from __future__ import annotations`: FastAPI reads these models' annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentsuite_catalog.domain.bindings import (
    MAX_URL,
    Auth,
    BindingSpec,
    BuiltinSpec,
    HttpSpec,
    LlmSpec,
    McpSpec,
)
from agentsuite_catalog.domain.semver import MAX_VERSION
from agentsuite_catalog.domain.tools import (
    MAX_DESCRIPTION,
    MAX_TAGS,
    MAX_TIMEOUT_MS,
    Draft,
    Tool,
    ToolVersion,
)
from agentsuite_contracts.catalog import AuthScheme, CatalogStatus, SideEffect, ToolRetry, ToolSpec
from agentsuite_kit.schemas import Violation

Name = Annotated[str, Field(min_length=1, max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthIn(Body):
    scheme: AuthScheme = Field(description="bearer, basic, header or query.")
    credential: Name = Field(description="The name of the tenant secret to present.")
    name: str | None = Field(
        default=None, max_length=100, description="Header or query parameter (header, query)."
    )

    def spec(self) -> Auth:
        return Auth(self.scheme, self.credential, self.name)


class HttpBindingIn(Body):
    kind: Literal["http"]
    url: str = Field(max_length=MAX_URL, description="URL template: {name} in path or query.")
    method: str = Field(default="POST", max_length=10)
    headers: dict[str, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict, max_length=32, description="Non-secret headers."
    )
    auth: AuthIn | None = None
    params: (
        dict[Annotated[str, Field(max_length=200)], Literal["path", "query", "header"]] | None
    ) = Field(
        default=None,
        max_length=200,
        description="Where each input property goes: `path` fills the URL's {name}, "
        "`query`, `header`; the input's `body` is then the JSON body. Absent: the URL's "
        "placeholders are filled from the input and the rest of it is the body.",
    )

    def spec(self) -> HttpSpec:
        auth = None if self.auth is None else self.auth.spec()
        params = None if self.params is None else {k: str(v) for k, v in self.params.items()}
        return HttpSpec(self.url, self.method, dict(self.headers), auth, params)


class McpBindingIn(Body):
    kind: Literal["mcp"]
    url: str = Field(max_length=MAX_URL, description="The MCP server's URL.")
    tool: Name = Field(description="The tool's name on that server.")
    auth: AuthIn | None = None

    def spec(self) -> McpSpec:
        return McpSpec(self.url, self.tool, None if self.auth is None else self.auth.spec())


class LlmBindingIn(Body):
    kind: Literal["llm"]
    prompt: Name = Field(description="The gateway prompt's name.")
    label: str | None = Field(default=None, max_length=200, description="Its label.")
    model: Name = Field(description="A model alias.")

    def spec(self) -> LlmSpec:
        return LlmSpec(self.prompt, self.model, self.label)


class BuiltinBindingIn(Body):
    kind: Literal["builtin"]
    name: Name = Field(description="The builtin's name in execution.")

    def spec(self) -> BuiltinSpec:
        return BuiltinSpec(self.name)


BindingIn = Annotated[
    HttpBindingIn | McpBindingIn | LlmBindingIn | BuiltinBindingIn, Field(discriminator="kind")
]


class VersionIn(Body):
    version: str = Field(max_length=MAX_VERSION, description="Semantic version, e.g. 1.2.0.")
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    display_name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64)
    tags: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    input_schema: dict[str, Any] = Field(description="Draft 2020-12 JSON Schema of the input.")
    output_schema: dict[str, Any] | None = Field(
        default=None, description="Draft 2020-12 JSON Schema of the output."
    )
    binding: BindingIn
    side_effect: SideEffect | None = None
    retry: ToolRetry | None = None
    requires_approval: bool = False
    timeout_ms: int = Field(default=30_000, ge=1, le=MAX_TIMEOUT_MS)

    def draft(self) -> Draft:
        binding: BindingSpec = self.binding.spec()
        return Draft(
            version=self.version,
            description=self.description,
            binding=binding,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            display_name=self.display_name,
            category=self.category,
            tags=tuple(self.tags),
            side_effect=self.side_effect,
            retry=self.retry,
            requires_approval=self.requires_approval,
            timeout_ms=self.timeout_ms,
        )


class ToolIn(VersionIn):
    name: str = Field(min_length=1, max_length=128, description="Never changes.")


class NewVersionIn(VersionIn):
    name: str | None = Field(
        default=None, max_length=128, description="If given, the tool's own name."
    )


class DeprecateIn(Body):
    sunset_at: datetime | None = Field(default=None, description="When calls start failing.")
    reason: str | None = Field(default=None, max_length=2000)
    replacement: str | None = Field(default=None, max_length=200)


class ValidateIn(Body):
    input: Any = Field(description="The payload to check against the input schema.")


class ToolView(BaseModel):
    id: UUID
    name: str
    head_version: str | None
    created_at: datetime

    @classmethod
    def of(cls, tool: Tool) -> "ToolView":
        return cls(id=tool.id, name=tool.name, head_version=tool.head, created_at=tool.created_at)


class VersionView(BaseModel):
    id: UUID
    tool_id: UUID
    name: str
    version: str
    status: CatalogStatus
    head: bool = Field(description="New plans get this version by default.")
    spec: ToolSpec
    created_at: datetime
    published_at: datetime | None
    deprecated_at: datetime | None
    sunset_at: datetime | None

    @classmethod
    def of(cls, tool: Tool, version: ToolVersion) -> "VersionView":
        gone = version.deprecation
        return cls(
            id=version.id,
            tool_id=tool.id,
            name=tool.name,
            version=version.version,
            status=version.status,
            head=tool.head == version.version,
            spec=version.spec,
            created_at=version.created_at,
            published_at=version.published_at,
            deprecated_at=None if gone is None else gone.at,
            sunset_at=None if gone is None else gone.sunset_at,
        )


class ViolationView(BaseModel):
    path: str = Field(description="Where in the input, e.g. `$.items[0].name`.")
    message: str


class Validation(BaseModel):
    valid: bool
    errors: list[ViolationView] = Field(description="At most 20.")

    @classmethod
    def of(cls, found: list[Violation]) -> "Validation":
        return cls(
            valid=not found, errors=[ViolationView(path=v.path, message=v.message) for v in found]
        )
