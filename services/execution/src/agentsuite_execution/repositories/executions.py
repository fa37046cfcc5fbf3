"""placeholder"""

from agentsuite_kit.db.repository import Repository


class Executions(Repository):
    pass
