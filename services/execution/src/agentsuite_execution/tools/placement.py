"""Where an `http` tool's input goes: URL placeholders, query, headers, JSON body.

A binding with `config.params` (`{name: "path" | "query" | "header"}`, what catalog's
OpenAPI import records for an operation) has its input split: each parameter goes to its
place and the input's `body` is the JSON body; any other key is refused. A binding without
it fills its `{placeholders}` from the input's keys of the same name and sends the rest.

Values are percent-encoded whole (`quote(..., safe="")`), so `/`, `?`, `#`, `@` and `:`
stay inside the segment or query value they fill: the scheme, host and port of the
registered URL (checked by the SSRF guard) hold for every call. A segment that a value
makes `.` or `..` is refused: URL normalizers (aiohttp's yarl among them) resolve it,
encoded or not, which would address another resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import orjson

from agentsuite_execution.tools.calls import ToolError

LOCATIONS = frozenset({"path", "query", "header"})
MAX_PARAMS = 200
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is a header value's own
BODY = "body"
NO_BODY = object()


@dataclass(frozen=True, slots=True)
class Placed:
    url: str
    headers: dict[str, str]
    body: Any  # NO_BODY: none sent


def invalid_binding(message: str) -> ToolError:
    return ToolError("invalid_binding", message)


def invalid_input(message: str) -> ToolError:
    return ToolError("invalid_input", message)


def params_of(config: Mapping[str, Any], template: str) -> dict[str, str] | None:
    """`config.params` checked against the URL template (None: not given)."""
    params = config.get("params")
    if params is None:
        return None
    if not isinstance(params, dict) or len(params) > MAX_PARAMS:
        raise invalid_binding(
            f"config.params must be an object of at most {MAX_PARAMS} parameter names to "
            "path, query or header"
        )
    for name, where in params.items():
        if not name or where not in LOCATIONS:
            raise invalid_binding(
                f"config.params: {name!r} must be placed in path, query or header"
            )
    holes = set(placeholders(template))
    paths = {name for name, where in params.items() if where == "path"}
    if holes != paths:
        odd = sorted(holes ^ paths)[:5]
        raise invalid_binding(
            f"config.params: the URL's placeholders and the path parameters differ ({odd})"
        )
    return params


def placeholders(template: str) -> list[str]:
    """The template's placeholder names; invalid_binding when one stands in the authority
    (the host a call reaches is fixed when the tool is registered). Without placeholders
    the URL is left to the SSRF guard."""
    found = PLACEHOLDER.findall(template)
    if not found:
        return []
    scheme, sep, rest = template.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not sep or not scheme or not authority:
        raise invalid_binding("the binding's URL needs a scheme and a host")
    if "{" in authority or "}" in authority:
        raise invalid_binding("a URL placeholder may not stand in the scheme, host or port")
    return found


def text_of(name: str, value: Any) -> str:
    """A scalar as it is written in a URL or header (JSON's spelling for numbers and
    booleans); invalid_input for objects, nulls and arrays of non-scalars."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()
    raise invalid_input(f"{name} must be a string, number or boolean")


def encoded(name: str, value: Any) -> str:
    """`value` percent-encoded whole, an array as comma-separated items (OpenAPI's simple
    style): no character of it can end its segment or query value."""
    items = value if isinstance(value, list) else [value]
    try:
        return ",".join(quote(text_of(name, item), safe="") for item in items)
    except UnicodeEncodeError:
        raise invalid_input(f"{name} is not valid Unicode text") from None


def expand(template: str, values: Mapping[str, Any]) -> str:
    """The template with every placeholder filled from `values`."""
    for name in placeholders(template):
        value = values.get(name)
        if value is None or value == "" or value == []:
            raise invalid_input(f"the input needs {name!r} for the URL's {{{name}}}")
    url = PLACEHOLDER.sub(lambda m: encoded(m[1], values[m[1]]), template)
    before, after = urlsplit(PLACEHOLDER.sub("x", template)), urlsplit(url)
    if (before.scheme, before.netloc) != (after.scheme, after.netloc):  # cannot happen
        raise invalid_input("a URL parameter would change the host the tool calls")
    fixed = before.path.split("/")
    for i, segment in enumerate(after.path.split("/")):
        if unquote(segment) in (".", "..") and segment != fixed[i]:
            raise invalid_input(
                f"a URL parameter makes the path segment {segment!r}, which would address "
                "another resource"
            )
    return url


def header_value(name: str, value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    text = ",".join(text_of(name, item) for item in items)
    if CONTROL.search(text):
        raise invalid_input(f"header {name} must be a single line without control characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise invalid_input(f"header {name} is not valid Unicode text") from None
    return text


def query_pairs(name: str, value: Any) -> list[str]:
    """`name=value`, percent-encoded; an array repeats the name (OpenAPI's form style)."""
    items = value if isinstance(value, list) else [value]
    key = encoded(name, name)
    return [f"{key}={encoded(name, item)}" for item in items]


def with_pairs(url: str, pairs: list[str]) -> str:
    if not pairs:
        return url
    base, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in base and not base.endswith(("?", "&")) else ("" if "?" in base else "?")
    return base + joiner + "&".join(pairs) + hash_ + fragment


def split(template: str, params: Mapping[str, str], method: str, input: Any) -> Placed:
    """An input split by the binding's parameters."""
    if not isinstance(input, dict):
        raise invalid_input("the tool takes an object of its parameters (and `body`)")
    odd = [k for k in input if k not in params and k != BODY]
    if odd:
        raise invalid_input(f"{odd[0][:100]!r} is not a parameter of the tool")
    url = expand(template, {k: v for k, v in input.items() if params.get(k) == "path"})
    pairs: list[str] = []
    headers: dict[str, str] = {}
    for name, value in input.items():
        where = params.get(name)
        if value is None or where is None or where == "path":
            continue
        if where == "query":
            pairs.extend(query_pairs(name, value))
        else:
            headers[name] = header_value(name, value)
    body = NO_BODY
    if BODY not in params and input.get(BODY) is not None:
        if method == "GET":
            raise invalid_input("a GET sends no body")
        body = input[BODY]
    return Placed(with_pairs(url, pairs), headers, body)


def fill(template: str, method: str, input: Any) -> Placed:
    """A binding without `params`: placeholders from the input's keys, the rest the body."""
    names = placeholders(template)
    if not names:
        return Placed(template, {}, NO_BODY if method == "GET" else input)
    if not isinstance(input, dict):
        raise invalid_input("the tool's URL has placeholders: its input must be an object")
    url = expand(template, input)
    rest = {k: v for k, v in input.items() if k not in names}
    return Placed(url, {}, NO_BODY if method == "GET" else rest)
