"""execution's one Settings class: `AGENTSUITE_EXECUTION_*`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.sealing import check_keys
from agentsuite_kit.settings import ServiceSettings, env_prefix


class ExecutionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("execution"), extra="ignore")
    service: ClassVar[str] = "execution"

    # --- the engine ----------------------------------------------------------------------
    workers: int = Field(
        default=8, ge=0, description="Steps this process runs at once (0: API only, no engine)."
    )
    claim_batch: int = Field(default=16, ge=1, description="Most steps claimed per round trip.")
    poll_interval: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between claims when no notification arrives (another instance "
        "made work ready, a timer came due).",
    )
    lease: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a claimed step stays this worker's without a heartbeat; a dead "
        "worker's steps are retried after it.",
    )
    heartbeat: float = Field(
        default=5.0, gt=0, description="Seconds between lease renewals (well under `lease`)."
    )
    lease_loss_limit: int = Field(
        default=10,
        ge=1,
        description="Lost leases (worker crashes) a step survives beyond its retry policy "
        "before it fails: a step that kills its worker every time is not retried forever.",
    )
    local_budget: int = Field(
        default=64,
        ge=1,
        description="Most steps one transaction takes on where they became ready (instant "
        "builtins run in it): bounds how long a worker stays on one run before the claim "
        "loop's fair share across tenants has its say again.",
    )
    max_steps: int = Field(
        default=20_000, ge=1, description="Most steps (map items included) in one execution."
    )
    max_subplan_depth: int = Field(
        default=10,
        ge=0,
        description="Most levels of `subplan` runs under a run started by the API or a "
        "schedule (0: none): a plan that runs itself stops here.",
    )
    max_runs_per_root: int = Field(
        default=1_000,
        ge=1,
        description="Most runs in one tree of `subplan` runs, its root included.",
    )
    # --- tools ---------------------------------------------------------------------------
    http_timeout: float = Field(
        default=30.0, gt=0, description="Seconds an `http` tool call may take at most."
    )
    http_max_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest `http` tool response read."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Hosts or CIDR ranges `http` tools may reach although they are loopback, "
        "private or link-local (the SSRF guard refuses those otherwise).",
    )
    # --- tenant secrets (tool credentials) ----------------------------------------------
    secret_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Key id -> base64 of 32 random bytes: the AES-256-GCM keys that encrypt "
        "tenant secrets. Several may be listed while rotating; none: the secrets store "
        "refuses writes and tools with a credential fail.",
    )
    secret_key_id: str | None = Field(
        default=None,
        description="Id (in `secret_keys`) of the key new and re-encrypted secrets use.",
    )
    # --- LLM calls -----------------------------------------------------------------------
    llm_timeout: float = Field(
        default=300.0, gt=0, description="Seconds an LLM step waits for the gateway's answer."
    )
    llm_resends: int = Field(
        default=2,
        ge=0,
        description="Times an LLM call still unanswered is sent again (same request id), "
        "spread evenly over its step's timeout: the gateway repeats an answer that was lost "
        "and reports a call that died with its process as interrupted.",
    )
    default_max_tokens: int = Field(
        default=1024,
        gt=0,
        description="Output tokens an LLM call is assumed to use when its step sets no cap "
        "(the budget reservation's estimate).",
    )
    default_price_micros: int = Field(
        default=10_000_000,
        ge=0,
        description="Price of one million tokens assumed for a model whose price execution "
        "has not seen (`llm.models.v1`), for cost reservations.",
    )
    agent_max_turns: int = Field(
        default=10, ge=1, description="Model turns of an agent step whose agent sets no limit."
    )
    # --- edge ----------------------------------------------------------------------------
    sse_keepalive: float = Field(default=15.0, gt=0, description="Seconds between SSE pings.")

    @field_validator("secret_keys")
    @classmethod
    def _aes256_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if value:
            check_keys("secret_keys", value)
        return value

    @model_validator(mode="after")
    def _active_key_listed(self) -> ExecutionSettings:
        if self.secret_keys and self.secret_key_id not in self.secret_keys:
            raise ValueError(f"secret_key_id: {self.secret_key_id!r} not in secret_keys")
        if self.secret_key_id is not None and not self.secret_keys:
            raise ValueError("secret_key_id: set, but secret_keys lists no key")
        return self
