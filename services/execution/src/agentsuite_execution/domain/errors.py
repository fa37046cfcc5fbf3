"""Why a command on a run was refused: one error type, its code says which rule."""

from __future__ import annotations


class RunError(Exception):
    """A refused command. `code`: `not_found` (404), `conflict` (409: the run's state does
    not allow it), `precondition` (412: If-Match), `forbidden` (403: not an approver),
    `invalid` (422: names `field`), `plan_not_runnable` (422), `subplan_depth_exceeded`
    and `subplan_runs_exceeded` (422: a run under another past the tree's bounds)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
