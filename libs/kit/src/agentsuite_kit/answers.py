"""A model's structured answer read as one JSON object, or the reason it is not one.

Discovery's turns and planning's drafts both ask a model for JSON against a schema, and
both must read whatever comes back without raising anything but their own refusal: text
past a size cap, JSON nested past the parser, `NaN`/`Infinity` (not JSON), a float past
the double range, or the one ```json fence some models add despite the format. Pure.
"""

from __future__ import annotations

import json
import math
from typing import Any


class AnswerError(ValueError):
    """The answer is not one JSON object; the message is the reason, safe to record."""


def answer_object(text: Any, *, max_bytes: int) -> dict[str, Any]:
    """`text` as a JSON object, or AnswerError(reason); never another error."""
    if not isinstance(text, str):
        raise AnswerError("no text")
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise AnswerError(f"larger than {max_bytes // 1024} KiB")
    try:
        document = json.loads(_unfenced(text), parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise AnswerError("not JSON: nested deeper than its parser goes") from None
    except ValueError as bad:  # JSONDecodeError, NaN, an int past Python's digit limit
        raise AnswerError(f"not JSON: {str(bad)[:200]}") from None
    if not isinstance(document, dict):
        raise AnswerError("not a JSON object")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} too large")
    return value


def _unfenced(text: str) -> str:
    """The JSON inside one ```json fence, which some models add despite the format."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        body = body[3:-3]
        first, _, rest = body.partition("\n")
        return rest if first.strip().isalpha() or not first.strip() else body
    return body
