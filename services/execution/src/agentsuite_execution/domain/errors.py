"""Why a command on a run was refused: the kit's error family, one code per rule.

A raise site names its rule by code, `RunError("conflict", ...)`; the code's kind (the
status the edge answers with, a consumer's dead-letter) is decided here, once, so the
engine's and the handlers' raise sites keep one shape and no table of statuses sits at
the edge.
"""

from __future__ import annotations

from agentsuite_kit.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
)


class RunError(DomainError):
    """A refused command, an instance of its code's kind: `not_found` (NotFound),
    `conflict` (Conflict: the run's state does not allow it), `precondition`
    (PreconditionFailed: If-Match), `forbidden` (Forbidden: not an approver), `invalid`
    (Invalid: names `field`), `plan_stale` (Conflict: a requirement the plan cites
    changed), `plan_not_runnable`, `subplan_depth_exceeded` and `subplan_runs_exceeded`
    (Invalid: a run under another past the tree's bounds). Another code is Invalid when it
    names a field, else Conflict."""

    def __new__(cls, code: str, message: str, *, field: str | None = None) -> RunError:
        if cls is RunError:
            cls = KINDS.get(code) or (RunInvalid if field is not None else RunConflict)
        return super().__new__(cls, code, message)

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


class RunInvalid(RunError, Invalid):
    pass


class RunNotFound(RunError, NotFound):
    pass


class RunConflict(RunError, Conflict):
    pass


class RunForbidden(RunError, Forbidden):
    pass


class RunPreconditionFailed(RunError, PreconditionFailed):
    pass


KINDS: dict[str, type[RunError]] = {
    "not_found": RunNotFound,
    "conflict": RunConflict,
    "precondition": RunPreconditionFailed,
    "forbidden": RunForbidden,
    "invalid": RunInvalid,
    "plan_not_runnable": RunInvalid,
    # a requirement the plan cites changed: no new run until it is approved again
    "plan_stale": RunConflict,
    # a run under another (a subplan's) past the nesting or tree bound
    "subplan_depth_exceeded": RunInvalid,
    "subplan_runs_exceeded": RunInvalid,
}
