"""ETags from version numbers: If-Match for optimistic concurrency, If-None-Match for GET.

Strong tags (`"7"`): a version names the resource's state, and the API serves one JSON
representation of it; If-Match must compare strongly (RFC 9110 13.1.1), and a weak tag
would never match it. If-None-Match compares weakly, so a cache's `W/"7"` still matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from starlette.responses import Response

from agentsuite_kit.http.numbers import ascii_int
from agentsuite_kit.http.problems import ProblemError

IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"

# RFC 9110 entity-tag: optional W/, then a quoted run of etagc (no '"', no controls)
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')


@dataclass(frozen=True)
class Tag:
    opaque: str
    weak: bool = False


def etag(version: int) -> str:
    """The strong ETag of `version`, quoted, ready for the ETag header."""
    return f'"{version}"'


def parse(header: str, name: str) -> list[Tag] | Literal["*"]:
    """The tags of an If-Match/If-None-Match value; 400 naming `name` when malformed."""
    if header.strip() == "*":
        return "*"
    tags: list[Tag] = []
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match is None:
            raise ProblemError(400, f"{name}: not a list of entity tags: {header[:100]!r}")
        tags.append(Tag(match.group(2), weak=match.group(1) is not None))
    return tags


@dataclass(frozen=True)
class Precondition:
    """A write's If-Match, checked against the version the unit of work loaded."""

    header: str | None
    required: bool = True

    @property
    def expected(self) -> int | None:
        """The one version asked for, if that is what was sent: for `WHERE version = :v`
        updates that keep the check and the write atomic."""
        if self.header is None:
            return None
        tags = parse(self.header, IF_MATCH)
        if tags == "*" or len(tags) != 1 or tags[0].weak:
            return None
        return ascii_int(tags[0].opaque)

    def check(self, current: int | None) -> None:
        """Raise 428 if If-Match is required and missing, 412 if it does not match
        `current` (None: the resource does not exist); a 412 carries the current ETag."""
        if self.header is None:
            if self.required:
                raise ProblemError(
                    428, f"{IF_MATCH}: required; send the ETag of the version you changed"
                )
            return
        tags = parse(self.header, IF_MATCH)
        if current is not None and (
            tags == "*" or any(not t.weak and t.opaque == str(current) for t in tags)
        ):
            return
        headers = {} if current is None else {"ETag": etag(current)}
        raise ProblemError(
            412,
            f"{IF_MATCH}: does not match the current version"
            + ("" if current is None else f" {etag(current)}"),
            headers=headers,
        )


def if_match(*, required: bool = True) -> Callable[[Request], Precondition]:
    """A dependency giving the request's If-Match as a `Precondition` to check."""

    def dependency(request: Request) -> Precondition:
        return Precondition(request.headers.get(IF_MATCH), required=required)

    return dependency


def not_modified(request: Request, version: int) -> Response | None:
    """A 304 carrying the ETag when the GET's If-None-Match names `version`, else None."""
    header = request.headers.get(IF_NONE_MATCH)
    if header is None:
        return None
    tags = parse(header, IF_NONE_MATCH)
    if tags == "*" or any(t.opaque == str(version) for t in tags):
        return Response(status_code=304, headers={"ETag": etag(version)})
    return None
