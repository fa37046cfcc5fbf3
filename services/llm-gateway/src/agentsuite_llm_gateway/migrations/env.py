from agentsuite_kit.db.migrate import run_env
from agentsuite_llm_gateway.repositories import metadata

run_env(metadata)
