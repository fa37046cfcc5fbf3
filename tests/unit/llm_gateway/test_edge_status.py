"""The domain's refusals carry no HTTP status; the edge picks it: OpenAI's statuses on the
OpenAI routes (a provider's own 4xx refusal passed on), the kit's status of each kind as
problem+json on the management routes."""

from __future__ import annotations

import pytest

from agentsuite_kit.errors import DomainError, Kind
from agentsuite_kit.http.problems import domain_problem
from agentsuite_llm_gateway.api.errors import openai_error, status_of
from agentsuite_llm_gateway.attempts import exhausted, refused
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.upstream.base import Failure, UpstreamError


@pytest.mark.parametrize(
    ("provider", "status"), [(422, 422), (404, 404), (413, 413), (500, 400), (None, 400)]
)
def test_a_provider_refusal_passes_its_own_4xx_on(provider: int | None, status: int) -> None:
    error = refused(UpstreamError(Failure.REFUSED, "no such parameter", status=provider))
    assert isinstance(error, DomainError)
    assert not hasattr(error, "status")  # the domain keeps the provider's answer as data only
    assert (error.code, error.kind, error.provider_status) == (
        Code.INVALID_REQUEST,
        Kind.INVALID,
        provider,
    )
    assert status_of(error) == status
    assert openai_error(error).status_code == status


def test_every_route_failing_answers_by_its_code_not_the_providers_status() -> None:
    error = exhausted(UpstreamError(Failure.RATE_LIMITED, "slow down", status=429))
    assert (error.code, error.kind, error.provider_status) == (
        Code.RATE_LIMITED,
        Kind.RATE_LIMITED,
        429,
    )
    assert status_of(error) == 429
    timed_out = exhausted(UpstreamError(Failure.TIMEOUT, "late", status=408))
    assert (timed_out.kind, status_of(timed_out)) == (Kind.TIMED_OUT, 504)


@pytest.mark.parametrize(
    ("code", "status"),
    [(Code.INVALID_REQUEST, 422), (Code.NOT_FOUND, 404), (Code.CONFLICT, 409)],
)
def test_a_management_refusal_is_the_kits_problem_of_its_kind(code: Code, status: int) -> None:
    problem = domain_problem(GatewayError(code, "refused", param="name")).problem
    body = problem.model_dump(mode="json", exclude_none=True)
    assert (problem.status, body["code"], body["field"]) == (status, code.value, "name")
