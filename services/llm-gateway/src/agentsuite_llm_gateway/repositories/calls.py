"""Call traces (monthly partitions) and the daily usage rollup (owner: traces)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Calls(Repository):
    pass


class Usage(Repository):
    pass
