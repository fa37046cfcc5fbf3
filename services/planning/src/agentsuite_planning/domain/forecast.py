"""The cost forecast's inputs (DESIGN.md "Domain").

PLACEHOLDER from plan-feeds, holding only the types its repositories return: plan-domain
owns this module; at merge take plan-domain's (the names and fields are DESIGN.md's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Price:
    input_micros_per_mtok: int
    output_micros_per_mtok: int
    currency: str


@dataclass(frozen=True)
class History:
    run_costs: list[int] = field(default_factory=list)
    step_costs: Mapping[str, list[int]] = field(default_factory=dict)
