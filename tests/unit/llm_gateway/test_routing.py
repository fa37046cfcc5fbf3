"""plan(): preferences, pins by specificity, aliases and weights, forbids, capabilities,
context window and cost cap."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agentsuite_llm_gateway.api.errors import status_of
from agentsuite_llm_gateway.domain.budgets import DEFAULT_OUTPUT
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import (
    Alias,
    Catalog,
    Model,
    Preference,
    Price,
    Provider,
    ProviderKind,
    Rule,
    RuleEffect,
    SubjectKind,
    Target,
)
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.routing import Ask, plan

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TENANT = uuid.uuid4()
USER = uuid.uuid4()
ORG = uuid.uuid4()
KEY = uuid.uuid4()
CALLER = Caller(TENANT, user_id=USER, org_id=ORG, api_key_id=KEY)

PROVIDER = Provider(uuid.uuid4(), "up", ProviderKind.OPENAI, "http://up")
OFF = replace(PROVIDER, name="off", enabled=False)


def model(
    name: str,
    *,
    window: int = 8000,
    caps: frozenset[str] = frozenset({"chat", "tools"}),
    price: tuple[int, int] | None = None,
    enabled: bool = True,
    provider: Provider = PROVIDER,
    max_output: int | None = None,
) -> Model:
    prices = () if price is None else (Price(datetime(2026, 1, 1, tzinfo=UTC), *price),)
    return Model(
        uuid.uuid4(),
        name,
        provider,
        name + "-up",
        window,
        max_output=max_output,
        capabilities=caps,
        enabled=enabled,
        prices=prices,
    )


def rule(effect: str, name: str, kind: str = "tenant", subject: object = None) -> Rule:
    return Rule(
        uuid.uuid4(),
        RuleEffect(effect),
        name,
        SubjectKind(kind),
        None if subject is None else str(subject),
    )


def catalog(
    models: list[Model],
    aliases: dict[str, list[tuple[str, int]]] | None = None,
    rules: list[Rule] | None = None,
    prefs: list[Preference] | None = None,
) -> Catalog:
    return Catalog(
        TENANT,
        {m.name: m for m in models},
        {n: Alias(n, tuple(Target(m, w) for m, w in ts)) for n, ts in (aliases or {}).items()},
        tuple(rules or ()),
        {(p.subject_kind, p.subject_id): p for p in prefs or ()},
    )


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311  # draws routing weights, not secrets


def names(cat: Catalog, ask: Ask, seed: int = 0) -> list[str]:
    route = plan(cat, ask, seeded(seed), now=NOW)
    return [m.name for m in route.candidates]


def ask(requested: str | None, caller: Caller = CALLER, **kw: object) -> Ask:
    return Ask(requested, caller, **kw)  # type: ignore[arg-type]


def refused(cat: Catalog, a: Ask) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        plan(cat, a, seeded(0), now=NOW)
    return caught.value


BASE = [model("a"), model("b"), model("c")]


# --- a) defaults and preferences ----------------------------------------------------------


def test_default_is_the_default_alias_without_preferences() -> None:
    cat = catalog(BASE, {"default": [("b", 1), ("a", 1)]})
    only_b = catalog(BASE, {"default": [("b", 1)]})
    assert names(only_b, ask(None)) == ["b"]
    assert names(only_b, ask("default")) == ["b"]
    assert set(names(cat, ask(None))) == {"a", "b"}


def test_user_preference_beats_tenant_preference() -> None:
    prefs = [
        Preference(SubjectKind.TENANT, str(TENANT), "a"),
        Preference(SubjectKind.USER, str(USER), "c"),
    ]
    cat = catalog(BASE, {"default": [("b", 1)]}, prefs=prefs)
    assert names(cat, ask(None)) == ["c"]
    assert plan(cat, ask("default"), seeded(0), now=NOW).requested == "c"
    other_user = Caller(TENANT, user_id=uuid.uuid4())
    assert names(cat, ask(None, other_user)) == ["a"]  # the tenant's
    assert names(cat, ask("b")) == ["b"]  # an explicit name is not a default


def test_preference_may_name_an_alias_and_a_stale_one_is_skipped() -> None:
    prefs = [
        Preference(SubjectKind.USER, str(USER), "gone"),
        Preference(SubjectKind.TENANT, str(TENANT), "fast"),
    ]
    cat = catalog(BASE, {"default": [("b", 1)], "fast": [("c", 1), ("a", 1)]}, prefs=prefs)
    assert names(cat, ask(None), seed=1)[0] in {"a", "c"}
    assert plan(cat, ask(None), seeded(0), now=NOW).requested == "fast"


# --- b) pins ------------------------------------------------------------------------------


def test_pins_replace_the_request_most_specific_wins() -> None:
    rules = [
        rule("pin", "a", "tenant"),
        rule("pin", "b", "org", ORG),
        rule("pin", "c", "user", USER),
    ]
    assert names(catalog(BASE, rules=rules), ask("a")) == ["c"]
    assert names(catalog(BASE, rules=rules[:2]), ask("c")) == ["b"]
    assert names(catalog(BASE, rules=rules[:1]), ask("c")) == ["a"]
    with_key = [*rules, rule("pin", "a", "api_key", KEY)]
    assert names(catalog(BASE, rules=with_key), ask("b")) == ["a"]


def test_pins_for_other_subjects_do_not_apply() -> None:
    rules = [
        rule("pin", "a", "user", uuid.uuid4()),
        rule("pin", "a", "org", uuid.uuid4()),
        rule("pin", "a", "api_key", None),  # every api key, but this caller has none
    ]
    caller = Caller(TENANT, user_id=USER, org_id=ORG)
    assert names(catalog(BASE, rules=rules), ask("b", caller)) == ["b"]


def test_named_subject_beats_wildcard_and_newest_of_equals_wins() -> None:
    rules = [rule("pin", "a", "user", USER), rule("pin", "b", "user", None)]
    assert names(catalog(BASE, rules=rules), ask("c")) == ["a"]
    rules = [rule("pin", "a", "tenant"), rule("pin", "b", "tenant")]
    assert names(catalog(BASE, rules=rules), ask("c")) == ["b"]


def test_pin_to_an_alias_expands_it_and_requested_names_it() -> None:
    cat = catalog(BASE, {"smart": [("c", 1)]}, rules=[rule("pin", "smart", "tenant")])
    route = plan(cat, ask("a"), seeded(0), now=NOW)
    assert route.requested == "smart"
    assert [m.name for m in route.candidates] == ["c"]


def test_pin_that_cannot_serve_the_needed_capability_is_ignored() -> None:
    embed = model("e", caps=frozenset({"embeddings"}))
    cat = catalog([*BASE, embed], rules=[rule("pin", "a", "tenant")])
    assert names(cat, ask("e", needs=frozenset({"embeddings"}))) == ["e"]
    assert names(cat, ask("e")) == ["a"]


# --- c) aliases and weights ---------------------------------------------------------------


def test_first_is_drawn_by_weight_the_rest_follow_in_order() -> None:
    cat = catalog(BASE, {"mix": [("a", 1), ("b", 3), ("c", 6)]})
    rng = seeded(42)
    firsts: Counter[str] = Counter()
    for _ in range(10_000):
        route = plan(cat, ask("mix"), rng, now=NOW)
        order = [m.name for m in route.candidates]
        firsts[order[0]] += 1
        rest = [n for n in ["a", "b", "c"] if n != order[0]]
        assert order[1:] == rest
    assert 800 <= firsts["a"] <= 1200
    assert 2700 <= firsts["b"] <= 3300
    assert 5700 <= firsts["c"] <= 6300


def test_model_name_is_itself_and_unknown_is_model_not_found() -> None:
    cat = catalog(BASE)
    assert names(cat, ask("b")) == ["b"]
    err = refused(cat, ask("nope"))
    assert err.code is Code.MODEL_NOT_FOUND
    assert err.param == "model"
    assert "nope" in err.message
    assert status_of(err) == 404


def test_alias_targets_without_a_model_are_skipped() -> None:
    cat = catalog(BASE, {"x": [("ghost", 5), ("a", 1)], "empty": [("ghost", 1)]})
    assert names(cat, ask("x")) == ["a"]
    assert refused(cat, ask("empty")).code is Code.NO_ROUTE


def test_alias_wins_over_a_model_of_the_same_name() -> None:
    cat = catalog(BASE, {"a": [("b", 1)]})
    assert names(cat, ask("a")) == ["b"]


# --- d) filters ---------------------------------------------------------------------------


def test_disabled_models_and_providers_are_dropped() -> None:
    models = [model("a", enabled=False), model("b", provider=OFF), model("c")]
    cat = catalog(models, {"all": [("a", 1), ("b", 1), ("c", 1)], "dead": [("a", 1), ("b", 1)]})
    assert names(cat, ask("all")) == ["c"]
    err = refused(cat, ask("dead"))
    assert err.code is Code.NO_ROUTE
    assert "disabled" in err.message
    assert "`a`" in err.message


def test_forbids_by_name_and_prefix_for_matching_subjects() -> None:
    models = [model("gpt-4o"), model("gpt-4o-mini"), model("claude")]
    order = {"all": [("gpt-4o", 1), ("gpt-4o-mini", 1), ("claude", 1)]}
    by_prefix = catalog(models, order, rules=[rule("forbid", "gpt-*", "user", USER)])
    assert names(by_prefix, ask("all")) == ["claude"]
    exact = catalog(models, order, rules=[rule("forbid", "gpt-4o", "tenant")])
    assert "gpt-4o" not in names(exact, ask("all"))
    assert "gpt-4o-mini" in names(exact, ask("all"))
    other = catalog(models, order, rules=[rule("forbid", "gpt-*", "user", uuid.uuid4())])
    assert len(names(other, ask("all"))) == 3
    err = refused(by_prefix, ask("gpt-4o"))
    assert err.code is Code.NO_ROUTE
    assert "forbidden" in err.message


def test_forbid_applies_to_a_pinned_model_too() -> None:
    rules = [rule("pin", "a", "tenant"), rule("forbid", "a", "user", USER)]
    assert refused(catalog(BASE, rules=rules), ask("b")).code is Code.NO_ROUTE


def test_capabilities_filter_and_no_route_names_what_is_missing() -> None:
    models = [model("plain", caps=frozenset({"chat"})), model("tooly")]
    cat = catalog(models, {"x": [("plain", 9), ("tooly", 1)]})
    assert names(cat, ask("x", needs=frozenset({"tools"}))) == ["tooly"]
    err = refused(cat, ask("plain", needs=frozenset({"tools", "vision"})))
    assert err.code is Code.NO_ROUTE
    assert "tools" in err.message
    assert "vision" in err.message


def test_context_window_falls_back_to_a_larger_model() -> None:
    models = [model("small", window=4000), model("big", window=128_000)]
    cat = catalog(models, {"x": [("small", 1), ("big", 1)]})
    assert set(names(cat, ask("x", prompt_tokens=3000, max_output=500))) == {"small", "big"}
    assert set(names(cat, ask("x", prompt_tokens=3000, max_output=1000))) == {"small", "big"}
    assert names(cat, ask("x", prompt_tokens=3000, max_output=1001)) == ["big"]


def test_context_too_long_when_no_model_fits() -> None:
    models = [model("small", window=4000), model("mid", window=8000)]
    cat = catalog(models, {"x": [("small", 1), ("mid", 1)]})
    err = refused(cat, ask("x", prompt_tokens=7900, max_output=200))
    assert err.code is Code.CONTEXT_TOO_LONG
    assert "7900" in err.message
    assert "8000" in err.message
    assert "200" in err.message


def test_no_route_beats_context_when_nothing_was_routable() -> None:
    cat = catalog([model("small", window=10, enabled=False)])
    assert refused(cat, ask("small", prompt_tokens=100)).code is Code.NO_ROUTE


def test_cost_cap_keeps_the_models_whose_estimate_fits() -> None:
    # per million: dear 10/30, cheap 1/2; estimate for 1000 in + 1000 out
    models = [
        model("dear", price=(10_000_000, 30_000_000)),
        model("cheap", price=(1_000_000, 2_000_000)),
    ]
    cat = catalog(models, {"x": [("dear", 1), ("cheap", 1)]})
    a = ask("x", prompt_tokens=1000, max_output=1000, max_cost_micros=3000)
    assert names(cat, a) == ["cheap"]  # dear estimates 40_000
    a = ask("x", prompt_tokens=1000, max_output=1000, max_cost_micros=40_000)
    assert set(names(cat, a)) == {"dear", "cheap"}


def test_cost_cap_output_is_the_output_the_call_is_then_capped_to() -> None:
    # the same output the reservation holds and the upstream body is bounded to
    # (output_reservation): the model's max_output, else DEFAULT_OUTPUT; a cap that
    # admitted fewer would let the call outspend it
    models = [model("m", price=(0, 1_000_000), max_output=100), model("n", price=(0, 1_000_000))]
    cat = catalog(models)
    assert names(cat, ask("m", max_cost_micros=100)) == ["m"]
    assert refused(cat, ask("m", max_cost_micros=99)).code is Code.COST_CAP
    assert names(cat, ask("n", max_cost_micros=DEFAULT_OUTPUT)) == ["n"]
    assert refused(cat, ask("n", max_cost_micros=DEFAULT_OUTPUT - 1)).code is Code.COST_CAP
    # asking for more than the model's max_output is capped to it, and estimated so
    assert names(cat, ask("m", max_output=5000, max_cost_micros=100)) == ["m"]


def test_cost_cap_error_names_the_cap_and_cheapest_estimate() -> None:
    models = [
        model("dear", price=(10_000_000, 30_000_000)),
        model("less", price=(5_000_000, 5_000_000)),
    ]
    cat = catalog(models, {"x": [("dear", 1), ("less", 1)]})
    err = refused(cat, ask("x", prompt_tokens=1000, max_output=1000, max_cost_micros=500))
    assert err.code is Code.COST_CAP
    assert status_of(err) == 402
    assert err.param == "max_cost"
    assert "0.000500 (500 micro-units)" in err.message
    assert "0.010000 (10000 micro-units)" in err.message


def test_free_models_always_fit_and_price_is_taken_at_now() -> None:
    later = Price(datetime(2026, 7, 1, tzinfo=UTC), 1_000_000_000, 1_000_000_000)
    m = replace(model("m", price=(0, 0)), prices=(model("m", price=(0, 0)).prices[0], later))
    cat = catalog([m, model("free")])
    assert names(cat, ask("m", prompt_tokens=10, max_cost_micros=0)) == ["m"]
    assert names(cat, ask("free", prompt_tokens=7000, max_cost_micros=0)) == ["free"]
    with pytest.raises(GatewayError):
        plan(
            cat,
            ask("m", prompt_tokens=10, max_cost_micros=0),
            seeded(0),
            now=later.effective_from,
        )


def test_weight_zero_targets_are_fallbacks_only() -> None:
    c = catalog([model("a"), model("b")], aliases={"pair": [("a", 0), ("b", 1)]})
    for seed in range(50):
        route = plan(c, Ask("pair", CALLER), random.Random(seed))  # noqa: S311  # not secrets
        assert [m.name for m in route.candidates] == ["b", "a"]
    only_zeros = catalog([model("a"), model("b")], aliases={"pair": [("a", 0), ("b", 0)]})
    route = plan(only_zeros, Ask("pair", CALLER), random.Random(0))  # noqa: S311
    assert [m.name for m in route.candidates] == ["a", "b"]
