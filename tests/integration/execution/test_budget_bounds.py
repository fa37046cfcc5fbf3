"""Run budgets reserve what the gateway reserves, and a paused run's budget can be raised.

- A prompt a real tokenizer makes more tokens of than characters / 4 cannot overspend a
  token budget: the run reserves the gateway's upper bound (the stub counts a token per
  word, so one-letter words are two characters a token).
- A model of a known family (o200k) is reserved at its tokenizer's count, not at a token
  per byte: a budget that fits four calls runs four, and the error of the fifth says what
  is spent, held and left.
- Usage beyond what a call reserved (the model ignoring the cap it was sent) is counted
  and recorded as an `execution.llm.overrun` event.
- `POST /v1/executions/{id}/budget` raises a paused run's budget; resumed, its held steps
  run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import httpx
import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.common import Money
from agentsuite_contracts.steps import Budget, OnLimit
from tests.integration.execution.gateway_support import (
    PER_TOKEN,
    Stack,
    events,
    eventually,
    llm_step,
    run_of,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.execution.harness import auth
from tests.integration.llm_gateway import setup
from tests.integration.llm_gateway.stub import Reply

OK = Reply(text="ok")  # one completion token, within any cap
FIVE = Reply(text="one two three four five")
CALL = 5 * PER_TOKEN


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("budget-bounds-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_queue(s: Stack) -> None:
    s.stub.queue.clear()


def chain(tag: str, n: int, prompt: str, **extra: object) -> list:  # type: ignore[type-arg]
    return [
        llm_step(
            f"s{i}",
            f"{tag}{i} {prompt}",
            depends_on=[f"s{i - 1}"] if i else [],
            **extra,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


async def test_a_prompt_of_short_words_cannot_overspend_a_token_budget(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex[:8]
    s.stub.script(*[OK] * 3)
    # 40 words in 86 characters: estimated 22 tokens at 4 characters a token, 40 upstream
    steps = chain(tag, 3, "a " * 38 + "a")
    budget = Budget(max_tokens=112, on_limit=OnLimit.FAIL)
    run_id = await run_plan(s, tenant, steps, budget=budget)
    run = await settled(s, tenant, run_id, "failed", "completed")
    assert run.tokens_used <= 112, f"{run.tokens_used} tokens used of a 112-token budget"
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "budget_exceeded"
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)


async def test_usage_beyond_the_cap_is_counted_and_recorded(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex[:8]
    # the model ignores the 5-token cap it was sent and bills 40
    s.stub.script(Reply(text="ok", usage={"prompt_tokens": 2, "completion_tokens": 40}))
    run_id = await run_plan(s, tenant, [llm_step("over", f"{tag} hi")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    assert run.tokens_used == 42
    assert run.cost_used == 40 * PER_TOKEN
    [overrun] = await events(s, tenant, run_id, "execution.llm.overrun")
    assert overrun["data"]["step"] == "over"
    assert overrun["data"]["used_tokens"] == 42
    assert overrun["data"]["reserved_tokens"] < 42


async def known_family(s: Stack, name: str = "gpt-4o") -> UUID:
    """A tenant whose `gpt-4o` (an o200k model) is the stub, input and output 1000 micros
    a token."""
    tenant = uuid4()
    pid = await setup.provider(s.gateway, tenant, "stub", s.stub.url)
    await setup.model(s.gateway, tenant, pid, name, upstream=name, price=("1000", "1000"))

    async def priced() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.models.price(name) is not None

    await eventually(priced, what=f"execution knowing the price of {name}")
    return tenant


async def test_a_known_model_family_is_reserved_at_its_tokenizers_count(s: Stack) -> None:
    tenant = await known_family(s)
    tag = uuid4().hex[:8]
    s.stub.script(*[OK] * 5)
    # 31 words: a call costs 32 tokens (31 in, 1 out) = 32000 micros; reserved at the
    # tokenizer's count it needs under 49000, at a token a byte (+ framing) about 190000
    steps = chain(tag, 5, "word " * 29 + "word", model="gpt-4o")
    budget = Budget(max_cost=Money(amount_micros=160_000), on_limit=OnLimit.FAIL)
    run_id = await run_plan(s, tenant, steps, budget=budget)
    run = await settled(s, tenant, run_id, "failed", "completed")
    states = {k: st.state for k, st in (await steps_of(s, tenant, run_id)).items()}
    assert [states[f"s{i}"] for i in range(4)] == ["succeeded"] * 4, (states, run.error)
    assert run.cost_used == 4 * 32_000
    assert run.error is not None
    message = run.error["message"]
    assert re.search(
        r"cost budget 160000: 128000 spent, 0 held by calls in flight, 32000 left; "
        r"this call needs up to \d+",
        message,
    ), message


async def test_a_paused_runs_budget_is_raised_then_it_resumes(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex[:8]
    s.stub.script(*[FIVE] * 3)
    steps = chain(tag, 3, "go")
    budget = Budget(max_cost=Money(amount_micros=2 * CALL), on_limit=OnLimit.PAUSE)
    run_id = await run_plan(s, tenant, steps, budget=budget)
    paused = await settled(s, tenant, run_id, "paused")
    assert paused.pause_reason == "budget"
    rid = str(run_id)
    client = s.execution.client

    async def post(
        body: object, *, who: UUID = tenant, what: str = "budget", if_match: str | None = None
    ) -> httpx.Response:
        headers = auth(who) if if_match is None else {**auth(who), "If-Match": if_match}
        return await client.post(f"/v1/executions/{rid}/{what}", json=body, headers=headers)

    # the same run seen from another tenant does not exist
    assert (await post({"max_cost": {"amount_micros": 9 * CALL}}, who=uuid4())).status_code == 404
    bad = await post({"max_cost": {"amount_micros": -5}})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["loc"][:2] == ["body", "max_cost"]
    assert (await post({"max_cost": "lots"})).status_code == 422
    lower = await post({"max_cost": {"amount_micros": CALL}})
    assert lower.status_code == 409, lower.text
    assert "spent" in lower.json()["detail"]
    stale = await post({"max_cost": {"amount_micros": 9 * CALL}}, if_match='"999"')
    assert stale.status_code == 412
    # resuming without a raise pauses again at once
    current = await run_of(s, tenant, run_id)
    raised = await post({"max_cost": {"amount_micros": 3 * CALL}}, if_match=f'"{current.version}"')
    assert raised.status_code == 200, raised.text
    assert raised.json()["budget"]["max_cost"]["amount_micros"] == 3 * CALL
    assert raised.json()["status"] == "paused"
    [event] = await events(s, tenant, run_id, "execution.budget.raised")
    assert event["data"]["budget"]["max_cost"]["amount_micros"] == 3 * CALL
    assert event["data"]["previous"]["max_cost"]["amount_micros"] == 2 * CALL

    resumed = await post(None, what="resume")
    assert resumed.status_code == 200, resumed.text
    done = await settled(s, tenant, run_id, "completed", "failed", "paused")
    assert done.status == "completed", done.error
    assert done.cost_used == 3 * CALL
    assert s.calls(tag) == 3
