"""JSON log lines: one object a line, with service, extras and the correlation id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from agentsuite_kit.logging import JsonFormatter, correlation_id


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def log(stream: io.StringIO) -> Iterator[logging.Logger]:
    # a logger outside the global hierarchy: no root handlers, no propagation
    logger = logging.Logger("agentsuite.test", logging.DEBUG)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("planning"))
    logger.addHandler(handler)
    yield logger
    handler.close()


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    docs = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(d, dict) for d in docs)
    return docs


def test_one_object_per_line(log: logging.Logger, stream: io.StringIO) -> None:
    log.info("first %s", "message")
    log.warning("second\nspans lines")

    first, second = _lines(stream)

    assert set(first) == {"ts", "level", "logger", "service", "msg"}
    assert first["level"] == "INFO"
    assert first["logger"] == "agentsuite.test"
    assert first["service"] == "planning"
    assert first["msg"] == "first message"
    ts = datetime.fromisoformat(first["ts"])
    assert ts.utcoffset() == timedelta(0)
    assert second["level"] == "WARNING"
    assert second["msg"] == "second\nspans lines"


def test_extra_fields_are_top_level_keys(log: logging.Logger, stream: io.StringIO) -> None:
    plan = UUID("0190f0c2-7d3e-7c4b-9a1f-2b3c4d5e6f70")
    log.info("plan approved", extra={"plan_id": plan, "steps": 3, "tags": ["a"], "_hidden": 1})

    [doc] = _lines(stream)

    assert doc["plan_id"] == str(plan)  # not JSON-native: rendered with str()
    assert doc["steps"] == 3
    assert doc["tags"] == ["a"]
    assert "_hidden" not in doc
    # the LogRecord's own attributes stay out
    for internal in ("args", "lineno", "pathname", "levelno", "exc_info", "thread"):
        assert internal not in doc


def test_correlation_id_from_contextvar(log: logging.Logger, stream: io.StringIO) -> None:
    log.info("before")
    token = correlation_id.set("corr-123")
    try:
        log.info("during")
    finally:
        correlation_id.reset(token)
    log.info("after")

    before, during, after = _lines(stream)

    assert "correlation_id" not in before
    assert during["correlation_id"] == "corr-123"
    assert "correlation_id" not in after


def test_exception_text(log: logging.Logger, stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("handler failed")

    [doc] = _lines(stream)

    assert doc["level"] == "ERROR"
    assert doc["msg"] == "handler failed"
    assert doc["exc"].startswith("Traceback (most recent call last):")
    assert doc["exc"].rstrip().endswith("ValueError: boom")


def test_no_exc_key_without_exception(log: logging.Logger, stream: io.StringIO) -> None:
    log.error("plain error")
    [doc] = _lines(stream)
    assert "exc" not in doc
