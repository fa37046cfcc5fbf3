from agentsuite_kit.db.migrate import run_env
from tests.integration.sample.repositories import metadata

run_env(metadata)
