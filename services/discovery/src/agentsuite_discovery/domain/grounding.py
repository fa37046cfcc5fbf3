"""Grounding: which catalog tools and agents (discovery's projection of `catalog.tools.v1`
and `catalog.agents.v1`) the requirements may use.

Matching is by words, deliberately plain: the requirements' terms (the words of the current
values) against each entry's name, description and tags. It cites candidates for planning
to consider; planning, not discovery, chooses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentsuite_contracts.discovery import Candidate
from agentsuite_discovery.domain.objectives import Objective
from agentsuite_discovery.domain.sessions import ObligationState

MAX_TERMS = 300
MAX_CANDIDATES = 10
MAX_SCANNED = 20_000  # characters of one entry's text read for words
WORD = re.compile(r"[^\W_]{3,40}")
STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "into",
        "onto",
        "each",
        "when",
        "then",
        "than",
        "will",
        "would",
        "should",
        "must",
        "can",
        "could",
        "our",
        "your",
        "their",
        "them",
        "they",
        "its",
        "are",
        "was",
        "were",
        "been",
        "have",
        "has",
        "had",
        "not",
        "but",
        "any",
        "all",
        "some",
        "every",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "where",
        "also",
        "only",
        "just",
        "very",
        "use",
        "uses",
        "used",
        "using",
        "need",
        "needs",
        "want",
        "wants",
        "like",
        "make",
        "makes",
        "about",
        "over",
        "under",
        "none",
    ]
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog tool or agent as discovery's projection keeps it (its newest version)."""

    kind: Literal["tool", "agent"]
    name: str
    version: str
    description: str = ""
    tags: tuple[str, ...] = ()


def _stem(word: str) -> str:
    """A word's crude singular: `emails` and `email` meet, `address` stays."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def words(text: str) -> Iterator[str]:
    for match in WORD.finditer(text[:MAX_SCANNED].casefold()):
        word = match.group()
        if word not in STOP:
            yield _stem(word)


def _texts(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, str))


def terms(objective: Objective, state: Mapping[str, ObligationState]) -> frozenset[str]:
    """The words of the obligations' current values, in the objective's order, bounded."""
    found: dict[str, None] = {}
    for o in objective.obligations:
        current = state.get(o.key)
        if current is None or current.extraction_id is None:
            continue
        for text in _texts(current.value):
            for word in words(text):
                found.setdefault(word)
                if len(found) >= MAX_TERMS:
                    return frozenset(found)
    return frozenset(found)


def candidates(
    wanted: frozenset[str], entries: Iterable[CatalogEntry], limit: int = MAX_CANDIDATES
) -> list[Candidate]:
    """The entries matching most of `wanted` (at least one term), best first."""
    scored = []
    for entry in entries:
        text = " ".join((entry.name.replace("_", " ").replace(".", " "), entry.description))
        have = set(words(text + " " + " ".join(entry.tags)))
        score = len(wanted & have)
        if score:
            scored.append((-score, entry.kind, entry.name, entry))
    scored.sort(key=lambda x: x[:3])
    return [
        Candidate(
            kind=e.kind,
            name=e.name,
            version=e.version,
            description=e.description[:2_000],
            score=-s,
        )
        for s, _, _, e in scored[:limit]
    ]
