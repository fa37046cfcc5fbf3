"""Semantic versions (semver.org 2.0.0): parsing, precedence, and what a bump may change.

Written here rather than taken from the `semver` package: that package is not in the
workspace's offline cache, and the grammar is semver.org's own regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from agentsuite_kit.errors import Invalid

# semver.org's suggested expression, anchored; the length cap keeps a stored version and an
# index key short
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
MAX_VERSION = 64
MAX_PART = 10**9  # numeric parts fit PostgreSQL's integer columns


@total_ordering
@dataclass(frozen=True, slots=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text + (f"+{self.build}" if self.build else "")

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # a release sorts after its prereleases; numeric identifiers before alphanumeric
        # ones, numerically; build metadata takes no part in precedence
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def may_break(self, before: SemVer) -> bool:
        """Whether this version may break callers of `before`: a major bump, or a minor bump
        within 0.y.z (semver's "anything may change" initial development)."""
        if self.major != before.major:
            return self.major > before.major
        return self.major == 0 and self.minor > before.minor


def parse(text: str, field: str = "version") -> SemVer:
    """`text` as a semantic version; anything else is an Invalid naming `field`."""
    match = SEMVER.match(text) if len(text) <= MAX_VERSION else None
    if match is None:
        raise Invalid(
            "version_invalid",
            f"{text[:MAX_VERSION]!r} is not a semantic version (MAJOR.MINOR.PATCH, at most "
            f"{MAX_VERSION} characters)",
            field=field,
        )
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) >= MAX_PART:
        raise Invalid("version_invalid", f"version numbers stay below {MAX_PART}", field=field)
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    return SemVer(major, minor, patch, pre, match.group(5) or "")
