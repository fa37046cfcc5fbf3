"""placeholder"""

from agentsuite_kit.db.repository import Repository


class Plans(Repository):
    pass


class Tools(Repository):
    pass


class Agents(Repository):
    pass


class Models(Repository):
    pass
