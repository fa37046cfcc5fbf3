"""What handlers and routes share beside the unit of work: one instance per process."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from uuid import UUID

from agentsuite_kit.runtime import Runtime
from agentsuite_llm_gateway.attempts import Attempts
from agentsuite_llm_gateway.budgets import BudgetGate
from agentsuite_llm_gateway.cache import ResponseCache
from agentsuite_llm_gateway.catalogs import Catalogs
from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.breaker import Breakers
from agentsuite_llm_gateway.gateway import Gateway
from agentsuite_llm_gateway.instance import Instance
from agentsuite_llm_gateway.outcomes import Outcomes
from agentsuite_llm_gateway.prompts import PromptResolver
from agentsuite_llm_gateway.recorder import Recorder
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow
from agentsuite_llm_gateway.upstream.pool import Upstreams


@dataclass
class Deps:
    settings: GatewaySettings
    runtime: Runtime[GatewayUow] = field(init=False)
    cipher: Cipher = field(init=False)
    catalogs: Catalogs = field(init=False)
    upstreams: Upstreams = field(init=False)
    breakers: Breakers = field(init=False)
    budgets: BudgetGate = field(init=False)
    prompts: PromptResolver = field(init=False)
    recorder: Recorder = field(init=False)
    cache: ResponseCache = field(init=False)
    gateway: Gateway = field(init=False)
    instance: Instance = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.cipher = Cipher(s)
        self.catalogs = Catalogs(s, self.uow)
        self.upstreams = Upstreams(s, self.cipher)
        self.breakers = Breakers(s.breaker_failures, s.breaker_cooldown)
        self.budgets = BudgetGate(s, self.uow)
        self.prompts = PromptResolver(self.uow)
        self.recorder = Recorder(s, self.uow)
        self.cache = ResponseCache(s, self.uow)
        self.instance = Instance(lambda: self.runtime.engine, s.instance_check_interval)
        rng = random.Random()  # noqa: S311  # routing weights and jitter, not secrets
        outcomes = Outcomes(
            s,
            budgets=self.budgets,
            recorder=self.recorder,
            cache=self.cache,
            instance=self.instance,
            uow=self.uow,
        )
        attempts = Attempts(s, self.budgets, self.upstreams, self.breakers, rng)
        self.gateway = Gateway(
            s,
            prompts=self.prompts,
            catalogs=self.catalogs,
            attempts=attempts,
            outcomes=outcomes,
            rng=rng,
        )

    def uow(self, tenant_id: UUID | None) -> GatewayUow:
        """A unit of work for `tenant_id` (None: tenantless, all tenants' rows)."""
        if tenant_id is None:
            return self.runtime.uow(None, all_tenants=True)
        return self.runtime.uow(tenant_id)
