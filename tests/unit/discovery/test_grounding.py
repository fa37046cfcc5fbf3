"""Grounding's words, without a server: what requirements search with and what catalog
entries are found by, bounded whatever the input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_discovery.domain.grounding import (
    MAX_DESCRIPTION,
    MAX_ENTRY_TERMS,
    MAX_NAME,
    MAX_QUERY_TERMS,
    STOP_WORDS,
    entry_of,
    entry_terms,
    query_terms,
    words,
)
from agentsuite_kit.errors import Invalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


def test_words_are_lower_cased_split_on_punctuation_without_stop_words_or_numbers() -> None:
    assert words("Send the weekly REPORT by e-mail to sales_team@example.com, 42 times!") == [
        "send",
        "weekly",
        "report",
        "mail",
        "sales",
        "team",
        "example",
        "com",
        "times",
    ]


def test_words_of_other_scripts_are_words_too() -> None:
    assert words("Zusammenfassung der Verkäufe; 売上レポート") == [
        "zusammenfassung",
        "der",
        "verkäufe",
        "売上レポート",
    ]


def test_query_terms_come_from_string_values_anywhere_in_the_document() -> None:
    value = {
        "goal": "Summarise web search results",
        "inputs": [{"name": "query", "type": "string"}, 3, None, True],
        "tools": ["web.search", {"nested": ["Summarise"]}],
    }
    terms = query_terms(value)
    # `summarise`, `web` and `search` twice, first; then the rest, in order of appearance
    assert terms == ["summarise", "web", "search", "results", "query", "string"]
    # keys are the model's field names, not requirements
    assert "goal" not in terms
    assert "nested" not in terms


def test_query_terms_keep_the_most_frequent_within_the_limit() -> None:
    text = " ".join([f"word{i:03d}" for i in range(100)] + ["often"] * 5)
    terms = query_terms(text, limit=3)
    assert terms == ["often", "word000", "word001"]
    assert len(query_terms(text)) == MAX_QUERY_TERMS
    assert query_terms(text, limit=0) == query_terms(text, limit=-5) == []


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def test_a_deep_document_is_walked_without_recursion_and_only_so_far() -> None:
    assert query_terms(nested(5_000, "needle")) == ["needle"]
    # past the node bound the walk stops: no RecursionError, no unbounded work
    assert query_terms(nested(100_000, "needle")) == []


def test_a_huge_value_is_read_only_up_to_the_bound() -> None:
    # the words past the first 64 KiB of text are never read
    value = ["filler " * 20_000, "needle"]
    terms = query_terms(value)
    assert terms[0] == "filler"
    assert "needle" not in terms
    many = [f"w{i}x" for i in range(50_000)] + ["needle"]
    assert "needle" not in query_terms(many, limit=100_000)


def test_entry_terms_are_distinct_in_order_and_bounded() -> None:
    assert entry_terms("web.search", None, "Search the web", "") == ["web", "search"]
    many = " ".join(f"t{i}x" for i in range(1_000))
    assert len(entry_terms(many)) == MAX_ENTRY_TERMS


def test_an_entry_keeps_a_bounded_description_and_its_name_words_first() -> None:
    entry = entry_of("crm.lookup", "1.2.0", "x" * 100_000 + " hidden", "CRM", "sales")
    assert len(entry.description) == MAX_DESCRIPTION
    assert entry.terms[:3] == ("crm", "lookup", "sales")
    assert "hidden" not in entry.terms


@pytest.mark.parametrize(
    ("name", "version", "code"),
    [
        ("", "1.0.0", "invalid_name"),
        ("n" * (MAX_NAME + 1), "1.0.0", "invalid_name"),
        ("ok", "", "invalid_version"),
        ("ok", "1" * 65, "invalid_version"),
    ],
)
def test_an_entry_past_catalogs_bounds_is_refused(name: str, version: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        entry_of(name, version, "d")
    assert refused.value.code == code


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(min_value=-3, max_value=80))
def test_query_terms_are_total_and_bounded_on_any_json(value: Any, limit: int) -> None:
    terms = query_terms(value, limit)
    assert len(terms) <= max(0, limit)
    assert len(set(terms)) == len(terms)
    for term in terms:
        assert 2 <= len(term) <= 40
        assert term == term.casefold()
        assert term not in STOP_WORDS
        assert not term.isdigit()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text() | st.none(), max_size=6))
def test_entry_terms_are_total_and_bounded_on_any_text(texts: list[str | None]) -> None:
    terms = entry_terms(*texts)
    assert len(terms) <= MAX_ENTRY_TERMS
    assert len(set(terms)) == len(terms)
    # a query term matches an entry exactly when the entry's texts hold that word
    assert set(query_terms(texts, limit=10_000)) <= set(terms)
