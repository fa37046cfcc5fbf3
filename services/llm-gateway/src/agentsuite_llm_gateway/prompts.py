"""Prompt references in requests: resolve a name + label or version and render it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.domain import prompts as domain
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.uow import GatewayUow

CACHED_VERSIONS = 2048


@dataclass(frozen=True, slots=True)
class Rendered:
    prompt_id: UUID
    version: int
    messages: list[dict[str, Any]]  # OpenAI chat messages, variables filled in
    model: str | None  # the version's default model or alias
    params: dict[str, Any]  # its default request parameters (temperature, ...)


@dataclass(frozen=True, slots=True)
class Template:
    """One immutable version, as rendering needs it."""

    messages: list[dict[str, Any]]
    variables: dict[str, Any]
    model: str | None
    params: dict[str, Any]
    checker: Any  # the variables schema, compiled once


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    label: str | None
    version: int | None
    variables: dict[str, Any]


def parse_ref(ref: Any) -> Ref:
    """A request's `prompt` object, checked; GatewayError naming the bad field."""
    if not isinstance(ref, dict):
        raise GatewayError(Code.INVALID_REQUEST, "prompt: must be an object", param="prompt")
    unknown = sorted(set(ref) - {"name", "label", "version", "variables"})
    if unknown:
        raise GatewayError(
            Code.INVALID_REQUEST,
            f"prompt.{unknown[0]}: unknown field",
            param=f"prompt.{unknown[0]}",
        )
    name, label, version = ref.get("name"), ref.get("label"), ref.get("version")
    if not isinstance(name, str) or not domain.NAME.fullmatch(name):
        raise GatewayError(
            Code.INVALID_REQUEST, "prompt.name: a prompt name is required", param="prompt.name"
        )
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise GatewayError(
            Code.INVALID_REQUEST, "prompt.version: a positive integer", param="prompt.version"
        )
    if label is not None and not isinstance(label, str):
        raise GatewayError(Code.INVALID_REQUEST, "prompt.label: a string", param="prompt.label")
    variables = ref.get("variables")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise GatewayError(
            Code.INVALID_VARIABLES, "prompt.variables: must be an object", param="prompt.variables"
        )
    return Ref(name, label, version, variables)


class PromptResolver:
    """Turns references into messages. Versions are immutable, so their templates are kept
    in memory (bounded, least recently used out); only the name/label -> version lookup
    reaches the database on each request."""

    def __init__(self, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self._uow = uow
        self._templates: OrderedDict[tuple[UUID, UUID, int], Template] = OrderedDict()

    async def resolve(self, tenant_id: UUID, ref: dict[str, Any]) -> Rendered:
        """`ref` = {name, label | version, variables}; GatewayError on a bad reference."""
        async with self._uow(tenant_id) as uow:
            return await self.resolve_in(uow, tenant_id, ref)

    async def resolve_in(self, uow: GatewayUow, tenant_id: UUID, ref: dict[str, Any]) -> Rendered:
        """`resolve` inside a unit of work the caller already has open."""
        parsed = parse_ref(ref)
        prompt_id, version = await self._locate(uow, parsed)
        template = await self._template(uow, tenant_id, prompt_id, version)
        try:
            values = domain.validate_variables(
                template.variables, parsed.variables, template.checker
            )
            messages = domain.render(template.messages, values)
        except domain.VariablesError as exc:
            param = "prompt.variables"
            if exc.variable != "variables":
                param = f"prompt.variables.{exc.variable}"
            raise GatewayError(Code.INVALID_VARIABLES, f"prompt {exc}", param=param) from None
        return Rendered(prompt_id, version, messages, template.model, dict(template.params))

    async def _locate(self, uow: GatewayUow, ref: Ref) -> tuple[UUID, int]:
        """(prompt id, version) a reference names: the version if given, else its label
        (default `production`; `latest` is the newest). Strict: an unknown label is an
        error, never a silent fallback to some other version."""
        label = None if ref.version is not None else (ref.label or domain.PRODUCTION)
        stored_label = None if label in (None, domain.LATEST) else label
        found = await uow.prompts.resolve(ref.name, stored_label)
        if found is None:
            raise GatewayError(
                Code.PROMPT_NOT_FOUND, f"prompt {ref.name!r} not found", param="prompt.name"
            )
        prompt_id, latest, pointed = found
        if ref.version is not None:
            if not 1 <= ref.version <= latest:
                raise GatewayError(
                    Code.PROMPT_NOT_FOUND,
                    f"prompt {ref.name!r} has no version {ref.version} (latest is {latest})",
                    param="prompt.version",
                )
            return prompt_id, ref.version
        if label == domain.LATEST:
            return prompt_id, latest
        if pointed is None:
            raise GatewayError(
                Code.PROMPT_NOT_FOUND,
                f"prompt {ref.name!r} has no label {label!r}",
                param="prompt.label",
            )
        return prompt_id, pointed

    async def _template(
        self, uow: GatewayUow, tenant_id: UUID, prompt_id: UUID, version: int
    ) -> Template:
        key = (tenant_id, prompt_id, version)
        cached = self._templates.get(key)
        if cached is not None:
            self._templates.move_to_end(key)
            return cached
        row = await uow.prompts.version(prompt_id, version)
        if row is None:  # deleted between the lookup and now
            raise GatewayError(
                Code.PROMPT_NOT_FOUND, f"prompt version {version} not found", param="prompt"
            )
        schema = row["variables"]
        template = Template(
            row["messages"], schema, row["model"], row["params"], domain.validator(schema)
        )
        self._templates[key] = template
        if len(self._templates) > CACHED_VERSIONS:
            self._templates.popitem(last=False)
        return template
