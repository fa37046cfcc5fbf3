"""placeholder"""

from agentsuite_kit.db.repository import Repository


class Steps(Repository):
    pass
