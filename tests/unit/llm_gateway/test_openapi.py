"""llm-gateway's OpenAPI is complete: every operation has a summary, documents each error
it can answer as problem+json (with a schema), and needs a capability unless it is on the
public allow-list. The app is built without starting it: nothing here touches a database.

Which errors a route can answer is read from the route itself (its path parameters, its
gates, the kit dependencies it uses), not from the document, so an undocumented answer
fails here before schemathesis meets it.
"""

# no `from __future__ import annotations`: FastAPI must resolve the routes' `Depends`

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from agentsuite_kit.http.problems import MEDIA_TYPE
from agentsuite_llm_gateway.app import build
from tests.integration.llm_gateway.harness import keyset, make_settings
from tests.integration.llm_gateway.route_table import PUBLIC, gates, unguarded

OPENAI = ("/v1/chat/completions", "/v1/embeddings", "/v1/models")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = make_settings("postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none", "127.0.0.1:9")
    return build(settings, keyset=keyset())


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _uses(dependant: Dependant, qualname: str) -> bool:
    """Whether a dependency (at any depth) is a closure made by the function `qualname`."""
    return any(
        getattr(d.call, "__qualname__", "").startswith(qualname + ".<locals>")
        for d in _walk(dependant)
    )


def _routes(app: FastAPI) -> Iterator[tuple[str, Dependant]]:
    """("METHOD /path", dependant) of every route, as the OpenAPI export walks them
    (included routers are not flattened into `app.routes`)."""
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(dependant, Dependant) and context.path is not None:
            for method in sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"}):
                yield f"{method} {context.path}", dependant


def _undocumented_as_problem(operation: dict[str, Any], codes: set[int]) -> list[str]:
    """Those of `codes` the operation does not document as problem+json with a schema."""
    missing = []
    for code in sorted(codes):
        content = operation["responses"].get(str(code), {}).get("content", {})
        if not content.get(MEDIA_TYPE, {}).get("schema"):
            missing.append(str(code))
    return missing


def test_every_operation_has_a_summary_of_its_own(schema: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for method, path, operation in _operations(schema):
        summary = operation.get("summary", "").strip()
        assert summary, f"{method} {path} has no summary"
        if summary in seen:
            clashes.append(f"{method} {path} and {seen[summary]}: {summary!r}")
        seen[summary] = f"{method} {path}"
    assert not clashes, "operations share a summary:\n" + "\n".join(clashes)


def test_every_error_response_is_a_problem_document_with_a_schema(
    schema: dict[str, Any],
) -> None:
    bad = []
    for method, path, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if int(code) < 400 or path in ("/healthz", "/readyz"):
                continue
            content = response.get("content", {})
            if list(content) != [MEDIA_TYPE] or not content[MEDIA_TYPE].get("schema"):
                bad.append(f"{method} {path} {code}: {content or 'no content'}")
    assert not bad, "errors not documented as problem+json with a schema:\n" + "\n".join(bad)


def test_the_openai_errors_carry_the_openai_error_object(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        if path not in OPENAI:
            continue
        for code in ("400", "401", "403", "404", "429", "502", "504"):
            body = operation["responses"][code]["content"][MEDIA_TYPE]["schema"]
            assert "error" in body.get("required", []), f"{method} {path} {code}"


def test_every_error_a_route_can_answer_is_documented(app: FastAPI, schema: dict[str, Any]) -> None:
    """401/403 for a token, 404 for a path naming an object, 422 for input, 400 for a
    forged cursor or a malformed Idempotency-Key or If-Match, 412/428 for If-Match, 500
    always: each as problem+json."""
    gated = {g.name for g in gates(app) if g.authenticated}
    gaps = []
    checked = 0
    for name, dependant in _routes(app):
        method, path = name.split(" ", 1)
        if not path.startswith("/v1"):
            continue
        checked += 1
        operation = schema["paths"][path][method.lower()]
        codes = {500}
        if name in gated:
            codes |= {401, 403}
        if "{" in path:
            codes.add(404)
        if dependant.body_params or dependant.query_params or "{" in path:
            codes.add(422)
        if _uses(dependant, "cursor_params"):
            codes.add(400)  # a forged cursor
        if method == "POST" and "201" in operation["responses"]:
            codes.add(400)  # a malformed Idempotency-Key (every create honours one)
        headers = {p.get("name", "").lower() for p in operation.get("parameters", [])}
        if _uses(dependant, "if_match") or "if-match" in headers:
            codes |= {400, 412, 428}  # a malformed, stale or missing If-Match
        missing = _undocumented_as_problem(operation, codes)
        if missing:
            gaps.append(f"{name}: {', '.join(missing)}")
    documented = sum(1 for _, path, _ in _operations(schema) if path.startswith("/v1"))
    assert checked == documented, f"{checked} routes walked, {documented} operations"
    assert not gaps, "errors answered but not documented as problem+json:\n" + "\n".join(gaps)


def test_every_route_needs_a_capability_or_is_public(app: FastAPI) -> None:
    assert unguarded(app) == []
    public = {g.name for g in gates(app) if not g.authenticated}
    assert not any(name.split(" ", 1)[1].startswith("/v1") for name in public), public
    assert public <= set(PUBLIC), f"open routes not on the allow-list: {public - set(PUBLIC)}"
    # the document says so too: every /v1 operation names its bearer security scheme
    for method, path, operation in _operations(app.openapi()):
        if path.startswith("/v1"):
            assert operation.get("security"), f"{method} {path} documents no security"
