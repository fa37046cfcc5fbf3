"""The kit's revocation list: fetched from identity with the service's own token, kept
when identity cannot answer, and a listed subject's tokens refused by `Revoking`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from agentsuite_kit.auth import AuthCode, AuthError, Principal, PrincipalKind
from agentsuite_kit.auth.revocations import Revocations, Revoking

pytestmark = pytest.mark.unit

URL = "http://identity.test/v1/revocations"
TOKEN_URL = "http://identity.test/v1/token"


class Verifier:
    async def authenticate(self, token: str) -> Principal:
        return Principal(
            subject=token,
            tenant_id=uuid.uuid4(),
            kind=PrincipalKind.SERVICE,
            capabilities=frozenset(),
            claims={},
        )


class Identity:
    """identity's two endpoints: tokens for the credential, the list for a current token."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        self.answers = answers
        self.issued: list[str] = []
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            assert b"grant_type=client_credentials" in request.content
            assert request.headers["authorization"].startswith("Basic ")
            token = f"t{len(self.issued)}"
            self.issued.append(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 300})
        assert str(request.url) == URL
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.revoked:
            return httpx.Response(401, json={"title": "Unauthorized"})
        return self.answers.pop(0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "svc.json"
    path.write_text(json.dumps({"client_id": "c", "client_secret": "s", "token_url": TOKEN_URL}))
    return path


async def test_listed_subjects_are_refused_and_the_last_list_outlives_a_failure(
    credentials: Path,
) -> None:
    identity = Identity(
        [
            httpx.Response(200, json={"subjects": ["gone"], "horizon": 630}),
            httpx.Response(503, text="down"),
            httpx.Response(200, json={"subjects": "not a list"}),
            httpx.Response(200, json={"subjects": []}),
        ]
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(identity)) as http:
        revocations = Revocations(URL, client=http, credentials=credentials)
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
        assert identity.issued == ["t0"]  # one token served every fetch of its life


async def test_the_token_is_renewed_before_expiry_and_when_refused(credentials: Path) -> None:
    ok = {"subjects": [], "horizon": 630}
    identity = Identity([httpx.Response(200, json=ok) for _ in range(3)])
    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(identity)) as http:
        revocations = Revocations(URL, client=http, credentials=credentials, clock=clock)
        assert await revocations.refresh()
        clock.now += 151  # past half of its 300 s life
        assert await revocations.refresh()
        assert identity.issued == ["t0", "t1"]
        identity.revoked.add("t1")  # identity refuses it: a new one, once
        assert await revocations.refresh()
        assert identity.issued == ["t0", "t1", "t2"]


async def test_without_a_credential_nothing_is_fetched_and_nothing_is_refused() -> None:
    identity = Identity([])
    async with httpx.AsyncClient(transport=httpx.MockTransport(identity)) as http:
        revocations = Revocations(URL, client=http)
        assert not await revocations.refresh()
        assert not revocations.loaded
        assert not revocations.revoked("anyone")
