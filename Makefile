# The two commands of README.md: `make up` runs the stack, `make test` passes the tests.
# Both install what they need first (scripts/bootstrap), so a fresh clone needs nothing else.
UV := python3 -m uv

.PHONY: install up down status test unit integration e2e lint kafka-lane bench contracts

install:
	@scripts/bootstrap

up: install
	$(UV) run agentsuite up

down: install
	$(UV) run agentsuite down

status: install
	$(UV) run agentsuite status

test: install lint
	$(UV) run pytest

unit: install
	$(UV) run pytest -m unit

integration: install
	$(UV) run pytest -m integration

e2e: install
	$(UV) run pytest -m e2e

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

contracts: install
	$(UV) run agentsuite-contracts export --out contracts/schemas

bench: install
	$(UV) run python bench/outbox_throughput.py
	$(UV) run python bench/identity.py
