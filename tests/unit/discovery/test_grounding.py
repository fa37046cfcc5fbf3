"""Grounding: catalog tools and agents the requirements' words match."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_discovery.domain.grounding import CatalogEntry, candidates, terms, words
from agentsuite_discovery.domain.objectives import DEFAULT
from agentsuite_discovery.domain.sessions import Proposed, apply, initial


def test_terms_are_the_words_of_current_values() -> None:
    state, _ = apply(
        DEFAULT,
        initial(DEFAULT),
        [
            Proposed("goal", "Email the weekly sales reports to managers", confidence=0.9),
            Proposed("tools", ["Salesforce CRM", "gmail"], confidence=0.9),
        ],
        uuid4,
    )
    found = terms(DEFAULT, state)
    assert {"email", "weekly", "sale", "report", "manager", "salesforce", "crm", "gmail"} <= found
    assert "the" not in found
    assert terms(DEFAULT, initial(DEFAULT)) == frozenset()


def test_candidates_are_ranked_by_matched_terms() -> None:
    entries = [
        CatalogEntry("tool", "send_email", "1.2.0", "Send an email to recipients"),
        CatalogEntry("agent", "report-writer", "0.3.0", "Writes weekly sales reports", ("email",)),
        CatalogEntry("tool", "weather", "1.0.0", "Today's weather"),
    ]
    found = candidates(frozenset({"email", "weekly", "sale", "report"}), entries)
    assert [(c.name, c.score) for c in found] == [("report-writer", 4), ("send_email", 1)]
    assert found[0].kind == "agent"
    assert candidates(frozenset({"email"}), entries, limit=1)[0].name == "report-writer"
    assert candidates(frozenset(), entries) == []


def test_words_are_bounded_and_ignore_stop_words() -> None:
    assert list(words("The addresses and emails, ok?")) == ["address", "email"]
    assert len(list(words("word " * 100_000))) < 10_000
