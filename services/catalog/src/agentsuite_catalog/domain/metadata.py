"""Free-form metadata on tasks and groups: a JSON object, bounded so that it cannot crowd
a spec that goes out whole on every event and into every history row."""

from __future__ import annotations

import json
from typing import Any

from agentsuite_kit.errors import Invalid
from agentsuite_kit.storable import nested_past, unstorable

# nesting and encoded size: room for labels, owners and SLAs; a document past them belongs in
# a system of its own, not in a spec copied into each revision and event
MAX_DEPTH = 8
MAX_BYTES = 16_384


def check_metadata(value: Any, field: str = "metadata") -> dict[str, Any]:
    """`value` if it is a JSON object within the bounds PostgreSQL can store; else Invalid."""
    if not isinstance(value, dict):
        raise Invalid("metadata_invalid", "metadata is a JSON object", field=field)
    if nested_past(value, MAX_DEPTH):
        raise Invalid(
            "metadata_too_deep", f"metadata nests at most {MAX_DEPTH} levels", field=field
        )
    flaw = unstorable(value)
    if flaw is not None:  # NUL, a lone surrogate, a non-finite number: as any other text
        where = flaw.joined(field).path
        raise Invalid("metadata_invalid", f"{where} {flaw.reason}", field=where)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_BYTES:
        raise Invalid(
            "metadata_too_large", f"metadata is at most {MAX_BYTES} bytes as JSON", field=field
        )
    return value
