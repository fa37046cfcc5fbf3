"""execution's subscription to identity's roles and how it keys a grant: pure, no servers."""

from __future__ import annotations

from uuid import uuid4

from pydantic import SecretStr

from agentsuite_contracts.registry import topic
from agentsuite_contracts.topic_names import IDENTITY_ROLES_V1
from agentsuite_execution.deps import Deps
from agentsuite_execution.handlers.roles import role_consumers
from agentsuite_execution.repositories.roles import assignment_key
from agentsuite_execution.settings import ExecutionSettings


def deps() -> Deps:
    return Deps(ExecutionSettings(database_url=SecretStr("postgresql+asyncpg://u:p@127.0.0.1/x")))


def test_the_roles_subscription_handles_every_event_of_its_topic_batched() -> None:
    [spec] = role_consumers(deps())
    declared = topic(spec.topic)
    assert spec.topic == IDENTITY_ROLES_V1
    assert "execution" in declared.consumers
    assert set(spec.handlers) == set(declared.payloads)
    assert spec.name == "roles"
    assert spec.batch


def test_a_grant_with_an_id_is_keyed_by_it_alone() -> None:
    grant, role, user = uuid4(), uuid4(), uuid4()
    assert assignment_key(role, user, None, None, grant) == str(grant)
    assert assignment_key(uuid4(), uuid4(), uuid4(), ("plan", "p"), grant) == str(grant)


def test_a_grant_without_an_id_is_keyed_by_role_user_and_scope() -> None:
    role, user, org = uuid4(), uuid4(), uuid4()
    keys = {
        assignment_key(role, user, None, None, None),
        assignment_key(role, user, org, None, None),
        assignment_key(role, user, None, ("plan", "p1"), None),
        assignment_key(role, user, None, ("plan", "p2"), None),
        assignment_key(role, user, None, ("agent", "p1"), None),
        assignment_key(role, uuid4(), None, None, None),
        assignment_key(uuid4(), user, None, None, None),
    }
    assert len(keys) == 7
    # the same grant named twice is one key
    assert assignment_key(role, user, org, None, None) == assignment_key(
        role, user, org, None, None
    )


def test_separators_in_a_resource_do_not_make_two_grants_one() -> None:
    role, user = uuid4(), uuid4()
    assert assignment_key(role, user, None, ("a:b", "c"), None) != assignment_key(
        role, user, None, ("a", "b:c"), None
    )
