"""One way to build an edge API, so every service answers errors, health and metrics alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from agentsuite_kit.http.context import CorrelationIdMiddleware
from agentsuite_kit.http.errors import CatchAllMiddleware
from agentsuite_kit.http.health import Check, health_router
from agentsuite_kit.http.metrics import HttpMetrics, MetricsMiddleware, metrics_router
from agentsuite_kit.http.openapi import document_problems
from agentsuite_kit.http.problems import install_problem_handlers
from agentsuite_kit.http.storable import refuse_unstorable


def create_app(
    title: str,
    version: str,
    checks: Mapping[str, Check] | None = None,
    *,
    registry: CollectorRegistry | None = None,
    check_timeout: float = 2.0,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """`fastapi_kwargs` pass through (lifespan, docs_url, ...); `app.state.metrics` holds the
    app's `HttpMetrics`, whose registry services may add their own collectors to. Every
    route refuses text PostgreSQL cannot hold with a 422 (http/storable.py)."""
    dependencies = [Depends(refuse_unstorable), *fastapi_kwargs.pop("dependencies", ())]
    app = FastAPI(title=title, version=version, dependencies=dependencies, **fastapi_kwargs)
    metrics = HttpMetrics(registry)
    app.state.metrics = metrics
    install_problem_handlers(app)
    document_problems(app)
    app.include_router(health_router(checks, timeout=check_timeout))
    app.include_router(metrics_router(metrics))
    # add_middleware wraps outward: the catch-all sits innermost so metrics and the
    # correlation id see (and tag) the 500 it produces.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(CorrelationIdMiddleware)
    return app
