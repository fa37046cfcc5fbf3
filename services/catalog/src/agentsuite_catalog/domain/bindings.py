"""How execution invokes a tool: the four binding kinds catalog registers, checked, and
their contract form (`ToolBinding`).

A binding names credentials, never holds them: `auth.credential` is the name of a tenant
secret execution resolves at call time, and header values that carry credentials are
refused (binding config is published in events and shown by the API). The SSRF check of
a URL needs the kit's guard (aiohttp's URL parser), so it runs in the handler, on `url`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agentsuite_contracts.catalog import AuthScheme, BindingKind, ToolAuth, ToolBinding
from agentsuite_kit.credentials import (
    CREDENTIAL_HEADERS,
    RESERVED_HEADERS,
    SECRET_NAME,
    TOKEN,
    reserved_header,
)
from agentsuite_kit.errors import Invalid

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
# OpenAPI path parameters are often named `pet-id` or `api.version`
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})\}")
# header names, credential and reserved headers: the kit's rules, which execution
# applies when it sends (a binding that passes here is one execution will send)
MAX_HEADERS = 32
MAX_PARAMS = 200
# where execution puts an input property of an http tool with `params` (see check_params)
PARAM_PLACES = frozenset({"path", "query", "header"})
# headers execution sets on every call, or whose value it owns (the JSON body's type)
EXECUTION_HEADERS = RESERVED_HEADERS | {"content-type"}
MAX_URL = 2_000


@dataclass(frozen=True, slots=True)
class Auth:
    scheme: AuthScheme
    credential: str
    name: str | None = None

    def contract(self) -> ToolAuth:
        return ToolAuth(scheme=self.scheme, secret_name=self.credential, name=self.name)


def check_auth(auth: Auth, field: str) -> Auth:
    if not SECRET_NAME.match(auth.credential):
        # the kit's rule, the one execution stores secrets by: a name it refuses could
        # never resolve
        raise Invalid(
            "credential_invalid",
            "a credential is the name of a tenant secret: 1-200 letters, digits, `_`, `.` "
            "or `-`, starting with a letter or digit",
            field=f"{field}.credential",
        )
    needs_name = auth.scheme in (AuthScheme.HEADER, AuthScheme.QUERY)
    if needs_name and (auth.name is None or not TOKEN.match(auth.name)):
        raise Invalid(
            "auth_name_required",
            f"scheme {auth.scheme.value} needs the header or parameter `name` to send it in",
            field=f"{field}.name",
        )
    if auth.scheme == AuthScheme.HEADER and auth.name is not None and reserved_header(auth.name):
        raise Invalid(
            "auth_name_reserved",
            f"{auth.name} is set by execution itself: a credential cannot be sent in it",
            field=f"{field}.name",
        )
    if not needs_name and auth.name is not None:
        raise Invalid(
            "auth_name_unexpected", f"scheme {auth.scheme.value} takes no name", field=field
        )
    return auth


def fill(template: str) -> str:
    """A URL template with every `{placeholder}` filled: the URL the SSRF check reads."""
    return PLACEHOLDER.sub("x", template)


def check_url_template(template: str, field: str) -> str:
    """An http(s) URL whose placeholders sit in the path or query only: the host a tool
    calls is fixed when it is registered, so the SSRF check of it holds for every call."""
    if len(template) > MAX_URL:
        raise Invalid("url_too_long", f"a URL has at most {MAX_URL} characters", field=field)
    leftover = PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise Invalid(
            "url_template_invalid", "placeholders are {name} (letters, digits, _ . -)", field=field
        )
    try:
        parts = urlsplit(template)
    except ValueError as exc:
        raise Invalid("url_invalid", f"not a URL: {exc}", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise Invalid("url_invalid", "an http or https URL with a host is needed", field=field)
    if "{" in parts.netloc:
        raise Invalid(
            "url_template_host", "placeholders may not stand in the URL's host", field=field
        )
    return template


def check_headers(headers: dict[str, str], field: str) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise Invalid("too_many_headers", f"at most {MAX_HEADERS} headers", field=field)
    for name, value in headers.items():
        lower = name.lower()
        if not TOKEN.match(name):
            raise Invalid("header_invalid", f"{name[:100]!r} is not a header name", field=field)
        if lower in CREDENTIAL_HEADERS:
            raise Invalid(
                "header_credential",
                f"{name} carries a credential: use `auth` with a secret name instead",
                field=f"{field}.{name}",
            )
        if reserved_header(name):
            raise Invalid(
                "header_reserved", f"{name} is set by execution itself", field=f"{field}.{name}"
            )
        if re.search(r"[\r\n]", value) or len(value) > 4_000:
            raise Invalid(
                "header_invalid",
                f"{name}: a single line, at most 4000 characters",
                field=f"{field}.{name}",
            )
    return headers


@dataclass(frozen=True, slots=True)
class Binding:
    """A checked binding: its contract form and the URL it calls (None: no network)."""

    contract: ToolBinding
    url: str | None = None


def sendable_header(name: str) -> bool:
    """Whether execution can send a header of this name from a tool's input."""
    lower = name.lower()
    return bool(
        TOKEN.match(name)
        and lower not in CREDENTIAL_HEADERS
        and lower not in EXECUTION_HEADERS
        and not reserved_header(name)
    )


def check_params(
    params: dict[str, str], url: str, headers: dict[str, str], field: str
) -> dict[str, str]:
    """`params`: input property -> `path` (fills the URL's `{name}`), `query` or `header`;
    execution then sends the input's `body` as the JSON body and refuses other keys."""
    if len(params) > MAX_PARAMS:
        raise Invalid("too_many_params", f"at most {MAX_PARAMS} parameters", field=field)
    for name, place in params.items():
        if place not in PARAM_PLACES:
            raise Invalid(
                "param_place_invalid",
                f"{name[:100]!r} goes in path, query or header",
                field=f"{field}.{name[:100]}",
            )
        fixed = {h.lower() for h in headers}
        if place == "header" and (not sendable_header(name) or name.lower() in fixed):
            raise Invalid(
                "header_reserved",
                f"{name[:100]} is not a header a tool's input may set",
                field=f"{field}.{name[:100]}",
            )
    holes = set(PLACEHOLDER.findall(url))
    paths = {name for name, place in params.items() if place == "path"}
    if holes != paths:
        raise Invalid(
            "params_url_mismatch",
            f"the URL's placeholders and the path parameters differ: {sorted(holes ^ paths)[:5]}",
            field=field,
        )
    return params


@dataclass(frozen=True, slots=True)
class HttpSpec:
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    auth: Auth | None = None
    params: dict[str, str] | None = None  # None: the whole input is the JSON body


@dataclass(frozen=True, slots=True)
class McpSpec:
    url: str
    tool: str
    auth: Auth | None = None


@dataclass(frozen=True, slots=True)
class LlmSpec:
    prompt: str
    model: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class BuiltinSpec:
    name: str


BindingSpec = HttpSpec | McpSpec | LlmSpec | BuiltinSpec


def binding_of(spec: BindingSpec) -> Binding:
    """The checked binding of a spec; Invalid naming `binding.<field>` otherwise."""
    if isinstance(spec, HttpSpec):
        method = spec.method.upper()
        if method not in METHODS:
            raise Invalid(
                "method_invalid",
                f"method is one of {', '.join(sorted(METHODS))}",
                field="binding.method",
            )
        url = check_url_template(spec.url, "binding.url")
        config: dict[str, Any] = {"method": method}
        headers = check_headers(spec.headers, "binding.headers")
        if headers:
            config["headers"] = headers
        if spec.params is not None:
            config["params"] = check_params(spec.params, url, headers, "binding.params")
        auth = None if spec.auth is None else check_auth(spec.auth, "binding.auth").contract()
        return Binding(
            ToolBinding(kind=BindingKind.HTTP, target=url, config=config, auth=auth), fill(url)
        )
    if isinstance(spec, McpSpec):
        url = check_url_template(spec.url, "binding.url")
        if "{" in url:
            raise Invalid("url_invalid", "an MCP server URL is not a template", field="binding.url")
        _name(spec.tool, "binding.tool")
        auth = None if spec.auth is None else check_auth(spec.auth, "binding.auth").contract()
        contract = ToolBinding(
            kind=BindingKind.MCP, target=url, config={"tool": spec.tool}, auth=auth
        )
        return Binding(contract, url)
    if isinstance(spec, LlmSpec):
        _name(spec.prompt, "binding.prompt")
        _name(spec.model, "binding.model")
        config = {"prompt": spec.prompt, "model": spec.model}
        if spec.label is not None:
            config["label"] = _name(spec.label, "binding.label")
        return Binding(ToolBinding(kind=BindingKind.LLM, target=spec.prompt, config=config))
    _name(spec.name, "binding.name")
    return Binding(ToolBinding(kind=BindingKind.BUILTIN, target=spec.name))


def _name(value: str, field: str) -> str:
    if not NAME.match(value):
        raise Invalid(
            "name_invalid",
            "1-200 characters: letters, digits, _ . : / -, starting with a letter or digit",
            field=field,
        )
    return value
