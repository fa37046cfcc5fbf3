from agentsuite_kit.db.migrate import run_env
from tests.integration.sample.model import metadata

run_env(metadata)
