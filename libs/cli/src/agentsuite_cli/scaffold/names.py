"""A service's name, checked, in every spelling the templates use."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

# a DNS-label-like name: lowercase words joined by single hyphens, as `llm-gateway`
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# PostgreSQL cuts identifiers at 63 bytes; `agentsuite_<name>` and `<name>_owner` must fit,
# and test databases add `_<8 hex>`
MAX_NAME = 30
# packages of the workspace that are not services, and names the tests folders already use
RESERVED = frozenset({"kit", "cli", "contracts", "sample", "e2e", "unit", "integration"})


class ScaffoldError(ValueError):
    """Why the service cannot be made (nothing was written)."""


@dataclass(frozen=True, slots=True)
class Names:
    """Every spelling of one service name the templates use."""

    name: str  # data-room: the service's name (entry point, env prefix, topics' owner)
    module: str  # data_room: test folders, bench file, migration branch
    package: str  # agentsuite_data_room
    dist: str  # agentsuite-data-room
    camel: str  # DataRoom: class names
    env: str  # DATA_ROOM: AGENTSUITE_DATA_ROOM_*

    @classmethod
    def of(cls, name: str) -> Names:
        module = name.replace("-", "_")
        return cls(
            name=name,
            module=module,
            package=f"agentsuite_{module}",
            dist=f"agentsuite-{name}",
            camel="".join(part.capitalize() for part in name.split("-")),
            env=module.upper(),
        )

    def mapping(self) -> dict[str, str]:
        return {
            "name": self.name,
            "module": self.module,
            "package": self.package,
            "dist": self.dist,
            "Camel": self.camel,
            "ENV": self.env,
        }


def check_name(name: str) -> Names:
    """`name` as `Names`, or `ScaffoldError` saying what is wrong with it."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            f"invalid service name {name!r}: lowercase letters and digits, words joined by "
            "single hyphens, starting with a letter (e.g. `planning`, `llm-gateway`)"
        )
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"invalid service name {name!r}: at most {MAX_NAME} characters")
    names = Names.of(name)
    if name in RESERVED or keyword.iskeyword(names.module):
        raise ScaffoldError(f"invalid service name {name!r}: the workspace uses that name already")
    return names
