"""Where the workspace lists its services: the root `pyproject.toml`, edited as text.

The file is edited in place, not re-serialized, so its comments and layout stay; the result
is parsed again and must hold every entry, or `ScaffoldError` says what could not be
added (and nothing is written). The README gets the service's section at the end of
`## Services`.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from agentsuite_cli.scaffold.names import Names, ScaffoldError

# the layers of a service its domain/ must not import (tests/unit/test_import_contracts.py)
OUTER_LAYERS = ("repositories", "api", "handlers", "uow", "deps")


def registered(text: str, names: Names) -> str:
    """`text` (the root pyproject) with service `names` added everywhere it must be."""
    pkg, src = names.package, f"services/{names.name}/src"
    lists: list[tuple[str, str, str]] = [
        ("[project]", "dependencies", names.dist),
        ("[tool.uv.workspace]", "members", f"services/{names.name}"),
        ("[tool.ruff]", "src", src),
        ("[tool.mypy]", "files", src),
        ("[tool.mypy]", "mypy_path", src),
        ("[tool.ruff.lint.isort]", "known-first-party", pkg),
        ("[tool.importlinter]", "root_packages", pkg),
        ("pure-domain", "source_modules", f"{pkg}.domain"),
        *(("pure-domain", "forbidden_modules", f"{pkg}.{layer}") for layer in OUTER_LAYERS),
        ("no-circles", "ancestors", pkg),
    ]
    try:
        before = tomllib.loads(text)
        if f"services/{names.name}" in before["tool"]["uv"]["workspace"]["members"]:
            raise ScaffoldError(f"{names.name} is a workspace member already (pyproject.toml)")
        for where, key, item in lists:
            text = _appended(text, _span(text, where), key, item)
        text = _sourced(text, names.dist)
        text = _layered(text, before, pkg)
        after = tomllib.loads(text)
    except (LookupError, tomllib.TOMLDecodeError) as exc:
        raise ScaffoldError(f"cannot register {names.name} in pyproject.toml: {exc}") from exc
    _verify(after, names, lists)
    return text


def readme_with(text: str, section: str) -> str:
    """`text` with `section` as the last service of `## Services` (or at the end)."""
    heading = re.search(r"^## Services\s*$", text, re.MULTILINE)
    following = re.compile(r"^## ", re.MULTILINE).search(text, heading.end()) if heading else None
    if following is None:
        return text.rstrip("\n") + "\n\n" + section
    return text[: following.start()] + section + text[following.start() :]


def _span(text: str, where: str) -> tuple[int, int]:
    """Start and end of a table (`[tool.mypy]`) or of an import-linter contract (by id)."""
    if where.startswith("["):
        found = re.search(rf"^{re.escape(where)}\s*$", text, re.MULTILINE)
        if found is None:
            raise LookupError(f"no {where} table")
    else:
        ident = re.search(rf'^id\s*=\s*"{re.escape(where)}"\s*$', text, re.MULTILINE)
        if ident is None:
            raise LookupError(f"no import-linter contract {where!r}")
        found = ident
    following = re.compile(r"^\[", re.MULTILINE).search(text, found.end())
    return found.start(), following.start() if following else len(text)


def _appended(text: str, span: tuple[int, int], key: str, item: str) -> str:
    """`text` with `"item"` added last to the list `key = [...]` inside `span`."""
    start, end = span
    opening = re.compile(rf"^{re.escape(key)}\s*=\s*\[", re.MULTILINE).search(text, start, end)
    if opening is None:
        raise LookupError(f"no list {key!r} where expected")
    close = _closing(text, opening.end())
    inside = text[opening.end() : close]
    quoted = f'"{item}"'
    if "\n" not in inside:
        body = inside.strip().rstrip(",")
        joined = f"{body}, {quoted}" if body else quoted
        return text[: opening.end()] + joined + text[close:]
    indent = re.match(r"\n([ \t]*)", inside)
    pad = indent.group(1) if indent else "    "
    last = opening.end() + len(inside.rstrip())
    comma = "" if text[last - 1] in ",[" else ","
    return text[:last] + comma + f"\n{pad}{quoted}," + text[last:]


def _closing(text: str, at: int) -> int:
    """The index of the `]` closing a list of strings whose body starts at `at`."""
    i = at
    while i < len(text):
        char = text[i]
        if char == '"':
            i = text.index('"', i + 1)
        elif char == "#":
            i = text.index("\n", i)
        elif char == "]":
            return i
        i += 1
    raise LookupError("a list is not closed")


def _sourced(text: str, dist: str) -> str:
    """`[tool.uv.sources]` with `dist = { workspace = true }` as its last entry."""
    start, end = _span(text, "[tool.uv.sources]")
    last = start + len(text[start:end].rstrip("\n"))
    return text[:last] + f"\n{dist} = {{ workspace = true }}" + text[last:]


def _layered(text: str, parsed: dict[str, Any], pkg: str) -> str:
    """The import-linter `workspace` contract with `pkg` in its layer of services."""
    contracts = parsed["tool"]["importlinter"]["contracts"]
    (workspace,) = [c for c in contracts if c.get("id") == "workspace"]
    services = workspace["layers"][1]
    start, end = _span(text, "workspace")
    old = f'"{services}"'
    at = text.find(old, start, end)
    if at < 0:
        raise LookupError("the services layer of the 'workspace' contract is not one string")
    return text[:at] + f'"{services} | {pkg}"' + text[at + len(old) :]


def _verify(parsed: dict[str, Any], names: Names, lists: list[tuple[str, str, str]]) -> None:
    tool = parsed["tool"]
    contracts = {c.get("id"): c for c in tool["importlinter"]["contracts"]}
    tables: dict[str, Any] = {
        "[project]": parsed["project"],
        "[tool.uv.workspace]": tool["uv"]["workspace"],
        "[tool.ruff]": tool["ruff"],
        "[tool.mypy]": tool["mypy"],
        "[tool.ruff.lint.isort]": tool["ruff"]["lint"]["isort"],
        "[tool.importlinter]": tool["importlinter"],
        **contracts,
    }
    missing = [f"{where} {key}" for where, key, item in lists if item not in tables[where][key]]
    layer = {n.strip() for n in contracts["workspace"]["layers"][1].split("|")}
    if names.package not in layer:
        missing.append("workspace layers")
    if tool["uv"]["sources"].get(names.dist) != {"workspace": True}:
        missing.append("[tool.uv.sources]")
    if missing:
        raise ScaffoldError(f"pyproject.toml: could not add {names.name} to {', '.join(missing)}")
