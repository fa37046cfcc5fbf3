"""The steps of a plan and the budget of its runs: the part of a plan execution carries out.

A step has a kind and exactly one block, the field named like its kind (`tool`, `llm`, ...).
Every kind shares the same guard rails: retry, timeout, what a final failure does, and a
cost cap. The kinds cover the workflow steps of the seed platforms: tool and LLM calls,
catalog agents, conditions, parallel branches, a map over a list, waits, human approvals
and sub-plans.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from agentsuite_contracts.common import JsonObject, Money
from agentsuite_contracts.envelope import Contract
from agentsuite_contracts.marks import Open, Sensitive


class StepKind(StrEnum):
    """What a plan step does (open: new kinds may appear within v1)."""

    TOOL = "tool"
    LLM = "llm"
    AGENT = "agent"
    CONDITION = "condition"
    PARALLEL = "parallel"
    MAP = "map"
    WAIT = "wait"
    APPROVAL = "approval"
    SUBPLAN = "subplan"


class OnError(StrEnum):
    """What a failed step (after its retries) does to the execution."""

    FAIL = "fail"
    CONTINUE = "continue"


class OnLimit(StrEnum):
    """What an execution does when it reaches a budget limit."""

    PAUSE = "pause"
    FAIL = "fail"
    WARN = "warn"


class RetryPolicy(Contract):
    """How often and how patiently a step is retried."""

    max_attempts: int = Field(default=1, ge=1, description="Attempts including the first.")
    initial_delay_ms: int = Field(default=1000, ge=0, description="Delay before the 1st retry.")
    backoff: float = Field(default=2.0, ge=1, description="Delay multiplier per retry.")
    max_delay_ms: int = Field(default=60_000, ge=0, description="Upper bound of one delay.")
    jitter: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of each delay drawn at random (0.2: the delay is 80-100% of its "
        "backoff value), so retries of many runs do not arrive together.",
    )
    retry_on: list[str] = Field(
        default_factory=list,
        description="Error codes that are retried (e.g. `timeout`, `http_503`); empty = every "
        "retryable error.",
    )


class ToolStep(Contract):
    """A `tool` step: call one tool version of the catalog."""

    tool: str = Field(description="Tool name in the catalog.")
    version: str | None = Field(default=None, description="Pinned version; null = latest.")
    input: Sensitive[JsonObject] = Field(
        default_factory=dict,
        description="Input; strings may reference `${steps.<key>.output...}` or `${inputs...}`.",
    )


class LlmStep(Contract):
    """An `llm` step: one completion through llm-gateway."""

    prompt: Sensitive[str] = Field(description="User prompt; may reference outputs.")
    system: Sensitive[str | None] = Field(default=None, description="System prompt.")
    model: str | None = Field(default=None, description="Model; null = gateway routing.")
    tools: list[str] = Field(default_factory=list, description="Tool names the model may call.")
    output_schema: JsonObject | None = Field(
        default=None, description="JSON Schema the answer must match, if structured."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temp.")
    max_tokens: int | None = Field(default=None, gt=0, description="Output token cap.")


class AgentStep(Contract):
    """An `agent` step: a catalog agent works on a task with its own tools and limits."""

    agent: str = Field(description="Agent name in the catalog.")
    version: int | None = Field(default=None, ge=1, description="Pinned revision; null = latest.")
    task: Sensitive[str] = Field(
        description="What the agent is asked to do; may reference outputs."
    )
    input: Sensitive[JsonObject] = Field(
        default_factory=dict, description="Structured input, referenced like tool input."
    )
    max_turns: int | None = Field(
        default=None, gt=0, description="Most model/tool turns; null = the agent's own limit."
    )


class ConditionStep(Contract):
    """A `condition` step: picks which dependants run."""

    expression: str = Field(description="Boolean expression over inputs and step outputs.")
    if_true: list[str] = Field(default_factory=list, description="Step keys run when true.")
    if_false: list[str] = Field(default_factory=list, description="Step keys run when false.")


class ParallelStep(Contract):
    """A `parallel` step: runs branches at the same time and joins them."""

    branches: list[list[str]] = Field(
        min_length=2, description="Each branch: step keys run in order, beside the others."
    )
    join: Literal["all", "any"] = Field(
        default="all", description="Done when every branch finished, or the first one."
    )
    max_concurrency: int | None = Field(
        default=None, gt=0, description="Most branches running at once; null = all."
    )


class MapStep(Contract):
    """A `map` step: runs its body once per item of a list (a loop)."""

    items: str = Field(description="Expression giving the list, e.g. `${steps.fetch.output}`.")
    item_var: str = Field(
        default="item", description="Name the body references the item by: `${item}`."
    )
    body: list[str] = Field(min_length=1, description="Step keys run, in order, per item.")
    max_concurrency: int = Field(default=1, gt=0, description="Items processed at once.")
    max_items: int | None = Field(
        default=None, gt=0, description="Fail when the list is longer; null = no cap."
    )


class WaitStep(Contract):
    """A `wait` step: pause for a duration or until a time."""

    duration_ms: int | None = Field(default=None, gt=0, description="How long to wait.")
    until: datetime | None = Field(default=None, description="Wait until this instant.")

    @model_validator(mode="after")
    def _one_of(self) -> WaitStep:
        if (self.duration_ms is None) == (self.until is None):
            raise ValueError("wait: set exactly one of duration_ms and until")
        return self


class ApprovalStep(Contract):
    """An `approval` step: a human decides whether the run goes on."""

    prompt: Sensitive[str] = Field(description="What the approver is asked.")
    approvers: list[str] = Field(
        min_length=1, description="Who may decide: user ids or `role:<name>` references."
    )
    timeout_ms: int | None = Field(
        default=None, gt=0, description="Auto-reject after this long; null = wait forever."
    )
    escalate_after_ms: int | None = Field(
        default=None,
        gt=0,
        description="After this long undecided, `escalate_to` may decide too; null = never.",
    )
    escalate_to: list[str] = Field(
        default_factory=list,
        description="Who is added to the approvers on escalation: user ids or `role:<name>`.",
    )


class SubplanStep(Contract):
    """A `subplan` step: runs another approved plan as one step."""

    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int | None = Field(
        default=None, ge=1, description="Pinned version; null = latest approved."
    )
    inputs: Sensitive[JsonObject] = Field(
        default_factory=dict, description="Run inputs; may reference outputs."
    )
    wait: bool = Field(default=True, description="False: start it and go on without its result.")


# each kind's block field, read once: iterating the enum per step was 40% of validating a
# 1,000-step plan's JSON
_BLOCKS = frozenset(k.value for k in StepKind)


class PlanStep(Contract):
    """One node of the plan's DAG; exactly the block matching `kind` is set."""

    key: str = Field(description="Unique key in the plan, e.g. `fetch-leads`.")
    name: str = Field(description="Display name.")
    kind: Open[StepKind] = Field(description="What the step does; new kinds may appear.")
    depends_on: list[str] = Field(
        default_factory=list, description="Keys of steps that must finish first."
    )
    tool: ToolStep | None = Field(default=None, description="Set when kind is `tool`.")
    llm: LlmStep | None = Field(default=None, description="Set when kind is `llm`.")
    agent: AgentStep | None = Field(default=None, description="Set when kind is `agent`.")
    condition: ConditionStep | None = Field(
        default=None, description="Set when kind is `condition`."
    )
    parallel: ParallelStep | None = Field(default=None, description="Set when kind is `parallel`.")
    map: MapStep | None = Field(default=None, description="Set when kind is `map`.")
    wait: WaitStep | None = Field(default=None, description="Set when kind is `wait`.")
    approval: ApprovalStep | None = Field(default=None, description="Set when kind is `approval`.")
    subplan: SubplanStep | None = Field(default=None, description="Set when kind is `subplan`.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy, description="Retry policy.")
    timeout_ms: int | None = Field(default=None, gt=0, description="Per-attempt time limit.")
    on_error: OnError = Field(default=OnError.FAIL, description="Effect of final failure.")
    max_cost: Money | None = Field(
        default=None, description="Most this step may spend over all its attempts."
    )
    serves: list[str] = Field(
        default_factory=list,
        description="Requirements this step serves: keys of the plan's `requirements`.",
    )
    compensation: str | None = Field(
        default=None,
        description="Key of a step that undoes this one: it runs (with `${compensated}` the "
        "output of this step) when the execution is cancelled after this step succeeded, "
        "and never in the normal flow.",
    )

    @model_validator(mode="after")
    def _block_matches_kind(self) -> PlanStep:
        present = {k for k in _BLOCKS if getattr(self, k) is not None}
        # a kind newer than this contract has a block this version cannot name
        wanted = {self.kind} if self.kind in _BLOCKS else set()
        if present != wanted:
            blocks = ", ".join(sorted(present)) or "none"
            raise ValueError(
                f"step {self.key!r}: kind {str(self.kind)!r} needs exactly the "
                f"`{self.kind}` block; set: {blocks}"
            )
        return self


class Budget(Contract):
    """Limits an execution of the plan must stay within, and what reaching one does."""

    max_cost: Money | None = Field(default=None, description="Most money spent.")
    max_tokens: int | None = Field(default=None, gt=0, description="Most LLM tokens.")
    max_duration_ms: int | None = Field(default=None, gt=0, description="Wall-clock limit.")
    warn_at_percent: int | None = Field(
        default=80,
        ge=1,
        le=100,
        description="Emit `execution.budget.warning` when a limit is this full; null = never.",
    )
    on_limit: OnLimit = Field(
        default=OnLimit.PAUSE, description="What reaching a limit does to the execution."
    )
