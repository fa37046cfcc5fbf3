"""SQL of API keys."""

from __future__ import annotations

from agentsuite_kit.db import Repository


class ApiKeys(Repository):
    pass
