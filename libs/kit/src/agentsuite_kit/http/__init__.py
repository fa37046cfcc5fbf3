"""HTTP building blocks shared by every Agentsuite edge API."""

from agentsuite_kit.http.app import create_app
from agentsuite_kit.http.context import HEADER as CORRELATION_HEADER
from agentsuite_kit.http.context import CorrelationIdMiddleware
from agentsuite_kit.http.health import Check, Health, health_router
from agentsuite_kit.http.metrics import HttpMetrics, MetricsMiddleware, metrics_router
from agentsuite_kit.http.pagination import (
    CursorError,
    CursorParams,
    CursorValue,
    Page,
    cursor_params,
    decode_cursor,
    encode_cursor,
    paginate,
)
from agentsuite_kit.http.problems import (
    MEDIA_TYPE as PROBLEM_MEDIA_TYPE,
)
from agentsuite_kit.http.problems import (
    FieldError,
    Problem,
    ProblemError,
    install_problem_handlers,
    problem_response,
)

__all__ = [
    "CORRELATION_HEADER",
    "PROBLEM_MEDIA_TYPE",
    "Check",
    "CorrelationIdMiddleware",
    "CursorError",
    "CursorParams",
    "CursorValue",
    "FieldError",
    "Health",
    "HttpMetrics",
    "MetricsMiddleware",
    "Page",
    "Problem",
    "ProblemError",
    "create_app",
    "cursor_params",
    "decode_cursor",
    "encode_cursor",
    "health_router",
    "install_problem_handlers",
    "metrics_router",
    "paginate",
    "problem_response",
]
