"""Marks a field carries into its JSON Schema: sensitive or personal data, open enums.

`Sensitive[str]` marks prompts, conversation text, model output and free text a user
typed (`"x-sensitive": true`); `Personal[str]` marks data about a person such as an email
or a name (`"x-personal": true`). Audit reads the marks (`marked_paths`) to encrypt or
redact those values. `Open[StepKind]` accepts values the enum does not list yet, kept as
`str` (`"x-open-enum": true`), so a producer may add a value without consumers rejecting
it; the compatibility check then treats added values as compatible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

SENSITIVE = "x-sensitive"
PERSONAL = "x-personal"
OPEN_ENUM = "x-open-enum"
MARKS = (SENSITIVE, PERSONAL)


@dataclass(frozen=True)
class _Mark:
    key: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = dict(handler(core_schema))
        schema[self.key] = True
        return schema


T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

Sensitive = Annotated[T, _Mark(SENSITIVE)]
"""Prompts, conversation text, model output, free text a user typed, values taken from it."""

Personal = Annotated[T, _Mark(PERSONAL)]
"""Data about a person: email addresses, names."""

# left_to_right: a listed value becomes the enum member, anything else stays a str
Open = Annotated[E | str, Field(union_mode="left_to_right"), _Mark(OPEN_ENUM)]
"""An enum that may grow within a topic version: unknown values are kept as `str`."""


def marked_paths(schema: Mapping[str, Any]) -> dict[str, list[str]]:
    """Paths of marked fields in a payload's JSON Schema, by mark (`x-sensitive`, ...).

    A path names fields from the payload down, `[]` for array items and `*` for map
    values: `messages[].content`. A marked field covers everything below it.
    """
    found: dict[str, set[str]] = {mark: set() for mark in MARKS}
    _walk(schema, schema, "", frozenset(), found)
    return {mark: sorted(paths) for mark, paths in found.items()}


def _walk(
    node: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
    seen: frozenset[str],
    found: dict[str, set[str]],
) -> None:
    marks = [mark for mark in MARKS if node.get(mark)]
    for mark in marks:
        found[mark].add(path)
    if marks:
        return  # the mark covers the whole subtree
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:  # a recursive model: already walked on this path
            return
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        _walk(target, root, path, seen | {ref}, found)
    for variant in [*node.get("anyOf", []), *node.get("oneOf", [])]:
        _walk(variant, root, path, seen, found)
    for name, prop in node.get("properties", {}).items():
        _walk(prop, root, f"{path}.{name}" if path else name, seen, found)
    if isinstance(node.get("items"), Mapping):
        _walk(node["items"], root, f"{path}[]", seen, found)
    if isinstance(node.get("additionalProperties"), Mapping):
        _walk(node["additionalProperties"], root, f"{path}.*", seen, found)
