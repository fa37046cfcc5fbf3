"""placeholder"""

from agentsuite_kit.db.repository import Repository


class Timers(Repository):
    pass


class Approvals(Repository):
    pass


class LlmCalls(Repository):
    pass


class Log(Repository):
    pass
