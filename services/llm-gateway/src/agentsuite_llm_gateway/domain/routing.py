"""Which models a request may go to, in which order: preferences, rules, aliases and their
weights, capabilities, the context window and the request's cost cap.

`plan` resolves a request in this order, and each step only narrows what the one before
left:

a) Default. `requested` None or "default" becomes the caller's user preference, else the
   tenant's preference, else the alias `default`. A preference naming neither a model
   nor an alias (its target was deleted) is skipped, so a stale row never breaks every
   default request of that user.
b) Pins. PIN rules matching the caller replace what was asked. A rule matches when its
   subject kind is one the caller has and its subject id is None (everyone of the kind)
   or the caller's id. The most specific wins: api_key > user > org > tenant, and within
   one kind a named subject beats the wildcard; among equals the newest rule (listed
   last) wins, so an admin overrides a pin by adding one. A pin whose models all lack the
   capabilities the request needs is ignored: pinning a chat model must not break a
   caller's embeddings.
c) Expansion. An alias (aliases win over a model of the same name) becomes its targets:
   the first is drawn by weight (`rng.choices`), the others follow in their listed order
   as fallbacks. Weight 0 means fallback only: never drawn first while any target has a
   weight (an alias of only zeros goes in its listed order). A model name is itself.
   Targets naming no model are skipped (aliases do not nest). Anything else is MODEL_NOT_FOUND.
d) Filters, in this order: models not routable (model or provider disabled); models a
   FORBID rule matching the caller names (exactly, or by `prefix*`); models lacking a
   capability of `ask.needs`; models whose context window cannot hold the prompt plus
   the output asked for; and, with `ask.max_cost_micros`, models whose estimate exceeds
   the cap. When the context step empties the list: CONTEXT_TOO_LONG; when the cost step
   does: COST_CAP naming the cheapest estimate; when an earlier step does: NO_ROUTE
   saying why each model was dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from agentsuite_llm_gateway.domain.budgets import output_reservation
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Catalog, Model, Rule, RuleEffect, SubjectKind
from agentsuite_llm_gateway.domain.costs import estimate_micros
from agentsuite_llm_gateway.domain.errors import Code, GatewayError

DEFAULT = "default"

_SPECIFICITY = {
    SubjectKind.TENANT: 0,
    SubjectKind.ORG: 1,
    SubjectKind.USER: 2,
    SubjectKind.API_KEY: 3,
}


@dataclass(frozen=True, slots=True)
class Ask:
    requested: str | None  # model or alias; None or "default": the caller's preference
    caller: Caller
    needs: frozenset[str] = frozenset()  # capabilities, e.g. `tools`, `vision`, `embeddings`
    prompt_tokens: int = 0  # estimated input size
    max_output: int = 0  # output tokens asked for (0: the model's default)
    max_cost_micros: int | None = None  # the request's cost cap


@dataclass(frozen=True, slots=True)
class Route:
    requested: str  # what was resolved, after preferences and pins (the alias or model name)
    candidates: tuple[Model, ...]  # in the order to try


def plan(catalog: Catalog, ask: Ask, rng: random.Random, now: datetime | None = None) -> Route:
    """The candidates for `ask`, or GatewayError (MODEL_NOT_FOUND, NO_ROUTE,
    CONTEXT_TOO_LONG, COST_CAP)."""
    when = now if now is not None else datetime.now(UTC)
    # (kind, id) of the caller; StrEnum kinds hash as their strings, so rules look up here
    ids: dict[str, str] = dict(ask.caller.subjects()) if catalog.rules else {}
    name = _default(catalog, ask)
    pin = _pin(catalog, ask, ids)
    if pin is not None:
        name = pin
    models = _expand(catalog, name, rng)
    forbids = [r for r in catalog.rules if r.effect is RuleEffect.FORBID and _applies(r, ids)]
    return Route(name, _filter(ask, forbids, name, models, when))


def forbidden(catalog: Catalog, caller: Caller, name: str) -> bool:
    """Whether a FORBID rule matching `caller` names the model `name` (what `plan` drops;
    `/v1/models` hides the same models)."""
    ids = dict(caller.subjects())
    return any(
        r.effect is RuleEffect.FORBID and _applies(r, ids) and r.matches_model(name)
        for r in catalog.rules
    )


def _known(catalog: Catalog, name: str) -> bool:
    return name in catalog.aliases or name in catalog.models


def _default(catalog: Catalog, ask: Ask) -> str:
    if ask.requested is not None and ask.requested != DEFAULT:
        return ask.requested
    caller = ask.caller
    keys = []
    if caller.user_id is not None:
        keys.append((SubjectKind.USER, str(caller.user_id)))
    keys.append((SubjectKind.TENANT, str(caller.tenant_id)))
    for key in keys:
        preference = catalog.preferences.get(key)
        if preference is not None and _known(catalog, preference.default_model):
            return preference.default_model
    return DEFAULT


def _applies(rule: Rule, ids: dict[str, str]) -> bool:
    mine = ids.get(rule.subject_kind)
    return mine is not None and (rule.subject_id is None or rule.subject_id == mine)


def _pin(catalog: Catalog, ask: Ask, ids: dict[str, str]) -> str | None:
    best: tuple[int, int] | None = None
    chosen: str | None = None
    for rule in catalog.rules:
        if rule.effect is not RuleEffect.PIN or not _applies(rule, ids):
            continue
        if not _serves(catalog, rule.model, ask.needs):
            continue
        rank = (_SPECIFICITY[rule.subject_kind], 0 if rule.subject_id is None else 1)
        if best is None or rank >= best:  # `>=`: the later (newer) of equals wins
            best, chosen = rank, rule.model
    return chosen


def _serves(catalog: Catalog, name: str, needs: frozenset[str]) -> bool:
    """Whether any model `name` may expand to has every needed capability."""
    alias = catalog.aliases.get(name)
    names = [t.model for t in alias.targets] if alias is not None else [name]
    return any(
        (model := catalog.models.get(n)) is not None and needs <= model.capabilities for n in names
    )


def _expand(catalog: Catalog, name: str, rng: random.Random) -> list[Model]:
    alias = catalog.aliases.get(name)
    if alias is None:
        model = catalog.models.get(name)
        if model is None:
            raise GatewayError(
                Code.MODEL_NOT_FOUND,
                f"The model `{name}` does not exist or you do not have access to it.",
                param="model",
            )
        return [model]
    targets = [t for t in alias.targets if t.model in catalog.models]
    if not targets:
        raise GatewayError(
            Code.NO_ROUTE, f"The alias `{name}` names no existing model.", param="model"
        )
    weights = [max(t.weight, 0) for t in targets]
    first = rng.choices(targets, weights=weights)[0] if any(weights) else targets[0]
    ordered = [first.model] + [t.model for t in targets if t.model != first.model]
    return [catalog.models[n] for n in dict.fromkeys(ordered)]


def _filter(
    ask: Ask,
    forbids: list[Rule],
    name: str,
    models: list[Model],
    when: datetime,
) -> tuple[Model, ...]:
    why: dict[str, str] = {}  # each dropped model's first reason
    left: list[Model] = []
    for m in models:
        if not m.routable:
            why.setdefault(m.name, "is disabled")
        elif forbids and any(r.matches_model(m.name) for r in forbids):
            why.setdefault(m.name, "is forbidden by a rule")
        elif ask.needs and not ask.needs <= m.capabilities:
            why.setdefault(m.name, "lacks " + ", ".join(sorted(ask.needs - m.capabilities)))
        else:
            left.append(m)
    if not left:
        detail = "; ".join(f"`{m}` {reason}" for m, reason in why.items())
        raise GatewayError(Code.NO_ROUTE, f"No model can serve `{name}`: {detail}.", param="model")

    wanted = ask.prompt_tokens + max(ask.max_output, 1)
    fitting = [m for m in left if m.context_window >= wanted]
    if not fitting:
        largest = max(m.context_window for m in left)
        raise GatewayError(
            Code.CONTEXT_TOO_LONG,
            f"This request needs {ask.prompt_tokens} prompt tokens plus "
            f"{wanted - ask.prompt_tokens} output tokens ({wanted} in all), but the largest "
            f"context window among the models of `{name}` is {largest} tokens.",
            param="messages",
        )
    if ask.max_cost_micros is None:
        return tuple(fitting)

    cap = ask.max_cost_micros
    estimates = {m.name: _estimate(m, ask, when) for m in fitting}
    affordable = [m for m in fitting if estimates[m.name] <= cap]
    if not affordable:
        cheapest = min(estimates.values())
        raise GatewayError(
            Code.COST_CAP,
            f"No model of `{name}` fits the cost cap of {_units(cap)} ({cap} micro-units): "
            f"the cheapest estimate is {_units(cheapest)} ({cheapest} micro-units).",
            param="max_cost",
        )
    return tuple(affordable)


def _units(micros: int) -> str:
    return str(Decimal(micros).scaleb(-6).quantize(Decimal("0.000001")))


def _estimate(model: Model, ask: Ask, when: datetime) -> int:
    # what the reservation holds and the upstream body is then bounded to
    output = output_reservation(ask.max_output or None, model.max_output)
    return estimate_micros(model.price_at(when), ask.prompt_tokens, output)
