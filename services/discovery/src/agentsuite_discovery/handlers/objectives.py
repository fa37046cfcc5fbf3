"""Objectives: define one (version 1), define its next version. The rules of a definition
are the domain's (`domain.objectives.objective_of`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.objectives import DEFAULT, Objective, body_of, objective_of
from agentsuite_discovery.handlers.common import writable
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.errors import Conflict, PreconditionFailed


@dataclass(frozen=True, slots=True)
class DefineObjective:
    key: str
    body: Mapping[str, Any]  # title, description, obligations: as the domain reads them
    created_by: str | None
    revise: bool  # False: a new objective (409 if it exists); True: its next version
    expected: int | None = None  # If-Match: only on top of this version (0: none yet)


async def define(command: DefineObjective, uow: DiscoveryUow, deps: Deps) -> Objective:
    await writable(uow)
    if command.key == DEFAULT.key:
        raise Conflict("objective_reserved", f"{DEFAULT.key!r} is the built-in objective")
    newest = await uow.objectives.newest(command.key)
    if newest is not None and not command.revise:
        raise Conflict(
            "objective_exists", f"objective {command.key!r} exists: PUT its next version"
        )
    current = 0 if newest is None else newest.version
    if command.expected is not None and command.expected != current:
        raise PreconditionFailed(
            "version_mismatch", f"objective {command.key!r} is at version {current}"
        )
    version = current + 1
    objective = objective_of(command.key, version, command.body)
    if not await uow.objectives.add(
        objective.key, version, objective.title, body_of(objective), command.created_by
    ):
        if command.expected is not None:
            # If-Match named the version just superseded: its precondition failed (RFC 9110)
            raise PreconditionFailed(
                "version_mismatch", f"objective {command.key!r} was changed meanwhile"
            )
        raise Conflict("objective_changed", "another version was written meanwhile: retry")
    return objective
