"""The kit's revocation list: fetched from identity, kept when identity cannot answer, and
a listed subject's tokens refused by the `Revoking` verifier."""

from __future__ import annotations

import uuid

import httpx
import pytest

from agentsuite_kit.auth import AuthCode, AuthError, Principal, PrincipalKind
from agentsuite_kit.auth.revocations import Revocations, Revoking

pytestmark = pytest.mark.unit

URL = "http://identity.test/v1/revocations"


class Verifier:
    async def authenticate(self, token: str) -> Principal:
        return Principal(
            subject=token,
            tenant_id=uuid.uuid4(),
            kind=PrincipalKind.SERVICE,
            capabilities=frozenset(),
            claims={},
        )


def client(answers: list[httpx.Response]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == URL
        return answers.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_listed_subjects_are_refused_and_the_last_list_outlives_a_failure() -> None:
    answers = [
        httpx.Response(200, json={"subjects": ["gone"], "horizon": 630}),
        httpx.Response(503, text="down"),
        httpx.Response(200, json={"subjects": "not a list"}),
        httpx.Response(200, json={"subjects": []}),
    ]
    async with client(answers) as http:
        revocations = Revocations(URL, client=http)
        verifier = Revoking(Verifier(), revocations)
        assert (await verifier.authenticate("gone")).subject == "gone"  # nothing fetched yet
        assert await revocations.refresh()
        with pytest.raises(AuthError) as caught:
            await verifier.authenticate("gone")
        assert caught.value.code is AuthCode.INVALID_CLAIM
        assert (await verifier.authenticate("kept")).subject == "kept"
        assert not await revocations.refresh()  # identity down: the list stays
        assert not await revocations.refresh()  # malformed: the list stays
        assert revocations.revoked("gone")
        assert await revocations.refresh()
        assert (await verifier.authenticate("gone")).subject == "gone"
