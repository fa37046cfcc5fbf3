from agentsuite_discovery.repositories import metadata
from agentsuite_kit.db.migrate import run_env

run_env(metadata)
