"""What the services' schemathesis runs share: the operations of an app's own OpenAPI,
cases drawn with hypothesis up front (to be sent afterwards in the test's event loop: the
app's connection pool lives on that loop, so schemathesis' own sync ASGI client cannot drive
it; no shrinking, then, and a failure prints the exact request instead), the request a case
makes with a valid token, and the checks every answer is held to."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis import Case as AnyCase
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

PROBLEM = "application/problem+json"

Case = AnyCase[Any]
Check = Callable[..., Any]
Operation = APIOperation[Any, Any, Any, Any]
CONFORMANCE: list[Check] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
"""No 5xx; status, schema and content type as documented."""


def operations(app: FastAPI, service: str) -> list[Operation]:
    """Every operation of the app's OpenAPI; an invalid one fails the test at once."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}'s OpenAPI has an invalid operation: {result}"
        found.append(result.ok())
    return found


def draw(strategy: Any, n: int) -> list[Case]:
    cases: list[Case] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        cases.append(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # nothing to break: an operation without inputs has no negative cases
        with contextlib.suppress(Unsatisfiable):
            collect()
    return cases


def both_modes(op: Operation, n: int) -> list[tuple[GenerationMode, list[Case]]]:
    """`n` cases that follow the schema and `n` that break it."""
    return [(mode, draw(op.as_strategy(mode), n)) for mode in GenerationMode]


def headers_broken(case: Case) -> bool:
    """A negative case whose headers are the broken part: its Authorization stays as made."""
    meta = case.meta
    if meta is None:
        return False
    info = meta.components.get(ParameterLocation.HEADER)
    return info is not None and info.mode is GenerationMode.NEGATIVE


def request(
    case: Case,
    token: str,
    base_url: str,
    form: Callable[[Any], bytes] = lambda data: str(data).encode(),
) -> dict[str, Any]:
    """`httpx.AsyncClient.request` arguments of a case, with `token` as its bearer unless
    the case breaks its headers on purpose; `form` encodes a form body."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers = {
        k: v
        for k, v in kwargs.get("headers", {}).items()
        if k.lower() not in ("connection", "accept-encoding", "user-agent")
    }
    if not headers_broken(case):
        headers["Authorization"] = f"Bearer {token}"
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": kwargs.get("params") or None,
    }
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    elif "content" in kwargs:
        out["content"] = kwargs["content"]
    elif "data" in kwargs:
        out["content"] = form(kwargs["data"])
    return out


def nonconformance(
    case: Case,
    name: str,
    mode: GenerationMode,
    response: httpx.Response,
    headers: dict[str, str],
    checks: list[Check],
) -> str | None:
    """What `checks` find wrong with an answer (a case that breaks the schema must also be
    rejected with a 4xx), or None."""
    if mode is GenerationMode.NEGATIVE:
        checks = [*checks, negative_data_rejection]
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except (AssertionError, FailureGroup) as exc:
        return f"{mode.value} {name}: {exc}".strip()[:1500]
    return None


def problem_check(response: httpx.Response) -> str | None:
    """An error must be problem+json carrying its own status."""
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", "").split(";")[0]
    if kind != PROBLEM:
        return f"error as {kind!r}, not {PROBLEM}"
    body = response.json()
    if body.get("status") != response.status_code:
        return f"problem status {body.get('status')} != {response.status_code}"
    return None


@dataclass
class Tally:
    """What a run sent, what came back, what was wrong."""

    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    def answered(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def judge(
        self,
        case: Case,
        name: str,
        mode: GenerationMode,
        response: httpx.Response,
        sent: dict[str, Any],
        checks: list[Check],
        *,
        where: str,
        problem: Callable[[httpx.Response], str | None] = problem_check,
        bearer: bool = True,
    ) -> None:
        """Count an answer to the request `sent` and record what is wrong with it: a 401
        though the token is valid (where the route takes a `bearer` at all), what `checks`
        find, an error `problem` refuses. `where` says which request it was."""
        self.answered(response)
        if bearer and response.status_code == 401 and not headers_broken(case):
            self.failures.append(f"401 for a valid token: {name}: {where}")
        wrong = nonconformance(case, name, mode, response, sent["headers"], checks)
        if wrong:
            self.failures.append(f"{wrong}\n  {where}")
            return
        refused = problem(response)
        if refused:
            self.failures.append(f"{mode.value} {name}: {refused}: {where}")

    def report(self, operations: int) -> None:
        """Print the run's counts; fail with the first failures, if any."""
        print(
            f"schemathesis: {operations} operations, {self.sent} cases, "
            f"{len(self.failures)} failures in {time.monotonic() - self.started:.0f}s; "
            f"answers {dict(sorted(self.statuses.items()))}"
        )
        assert operations
        failures = self.failures
        assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} in all)"
