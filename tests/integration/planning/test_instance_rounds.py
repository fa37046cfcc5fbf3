"""Many test files start and stop planning instances in one process, on one broker. An
instance stopped before its consumer groups finished joining left its members behind on the
broker (a member that never joined sends no LeaveGroup), and the next round's joins then
waited on them; stopping an instance waited in turn on each of its groups' pending join
request, one after another: the second round hung for minutes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.planning.harness import create_db, make_settings, running


@pytest.fixture(scope="module")
async def rounds_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_db(pg_admin_url, tmp_path_factory.mktemp("planning-rounds") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


# a hang detector, generous for a loaded box: a round takes seconds, the hang took minutes
@pytest.mark.timeout(150)
async def test_rounds_of_two_instances_start_and_stop_in_one_process(
    rounds_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> None:
    # joins in the background: each round stops its instances before their groups joined
    settings = make_settings(
        rounds_db.url(pg_admin_url), kafka_bootstrap, consumers_join_before_ready=False
    )
    for _ in range(3):
        async with (
            running(settings, rounds_db, pg_admin_url) as a,
            running(settings, rounds_db, pg_admin_url) as b,
        ):
            assert (await a.client.get("/readyz")).status_code == 200
            assert (await b.client.get("/readyz")).status_code == 200
