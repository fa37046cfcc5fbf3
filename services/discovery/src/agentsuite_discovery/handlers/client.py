"""discovery's LLM client: requests on `llm.requests.v1`, answers on its own reply topic
(`llm.responses.discovery.v1`), pending calls in `llm_calls`."""

from __future__ import annotations

from agentsuite_discovery.repositories.tables import llm_calls
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.llm import LlmClient

REQUESTER = "discovery"
CLIENT = LlmClient[DiscoveryUow](REQUESTER, llm_calls, name="responses")
