from agentsuite_kit.db.migrate import run_env
from agentsuite_planning.repositories import metadata

run_env(metadata)
