"""A refused command on a run is one of the kit's domain errors: its code picks the kind,
so the edge answers the status execution always answered, naming the same code and field."""

from __future__ import annotations

import pytest

from agentsuite_execution.domain.errors import RunError
from agentsuite_kit.errors import DomainError, Kind
from agentsuite_kit.http.problems import domain_problem

# the statuses of execution's codes before the kit's family (api/errors.py's table)
STATUSES = [
    ("not_found", None, 404),
    ("conflict", None, 409),
    ("precondition", None, 412),
    ("forbidden", None, 403),
    ("invalid", "inputs", 422),
    ("plan_not_runnable", "plan_version", 422),
    ("subplan_depth_exceeded", None, 422),
    ("subplan_runs_exceeded", None, 422),
    # a code outside the table: a field makes it invalid input, else a state conflict
    ("something_new", "x", 422),
    ("something_new", None, 409),
]


@pytest.mark.parametrize(("code", "field", "status"), STATUSES)
def test_a_run_error_answers_its_codes_status_with_code_and_field(
    code: str, field: str | None, status: int
) -> None:
    error = RunError(code, "why", field=field)
    problem = domain_problem(error).problem.model_dump()
    assert isinstance(error, DomainError)
    assert (problem["status"], problem["code"], problem.get("field")) == (status, code, field)
    assert problem["detail"] == "why"
    if field is not None:
        assert problem["errors"][0]["loc"] == ["body", field]


def test_a_run_error_is_caught_as_one_and_keeps_its_members() -> None:
    with pytest.raises(RunError) as refused:
        raise RunError("not_found", "no execution 7")
    assert refused.value.kind is Kind.NOT_FOUND
    assert (refused.value.code, refused.value.message, refused.value.field) == (
        "not_found",
        "no execution 7",
        None,
    )
    assert str(refused.value) == "no execution 7"
