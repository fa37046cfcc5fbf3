"""Signing-key rotation: on demand (`POST /v1/signing-keys/rotate`) and on a schedule.

Each key has its own rotation job, keyed by its kid (`rotation:<kid>`), due
`signing_key_rotation_days` after it became the signer. When it runs and its key is
still the signer, it rotates; either way it schedules the job of whichever key signs now.
A rotation by hand thus never leads to a second rotation right after it, and several
workers scheduling at startup make one job (same key, `keep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentsuite_contracts.identity import SigningKeyRotated
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.signing import Keyring
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Handler, Job

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

ROTATE_JOB = "signing_keys.rotate"


@dataclass(frozen=True)
class RotateKey:
    """Make a new key the signer now (by hand, or the key's rotation job)."""


async def schedule_rotation(uow: IdentityUow, settings: IdentitySettings) -> str | None:
    """Schedule the current signing key's rotation (no commit); its kid, None if no key.

    Call in `uow(None)` (the job belongs to no tenant), then commit.
    """
    current = await uow.signing_keys.current(lock=False)
    if current is None:
        return None
    since = current.activated_at or datetime.now(UTC)
    await uow.jobs.schedule(
        ROTATE_JOB,
        payload={"kid": current.kid},
        run_at=since + timedelta(days=settings.signing_key_rotation_days),
        key=f"rotation:{current.kid}",
        on_conflict="keep",
    )
    return str(current.kid)


async def rotate(cmd: RotateKey, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    """The command: `rotate_with` the process's keyring."""
    return await rotate_with(uow, deps.keyring)


async def rotate_with(uow: IdentityUow, keyring: Keyring) -> dict[str, Any]:
    """Make a new key the signer, emit SigningKeyRotated, schedule the new key's rotation.

    No commit. The answer is what the API returns (kid, previous kid, until when the
    previous key still verifies).
    """
    settings = keyring.settings
    kid, previous, until = await keyring.rotate(uow)
    uow.emit(
        SigningKeyRotated(
            kid=kid,
            algorithm=keyring.algorithm,
            previous_kid=previous,
            jwks_url=f"{settings.base_url()}/.well-known/jwks.json",
            previous_valid_until=until,
        )
    )
    await schedule_rotation(uow, settings)
    return {"kid": kid, "previous_kid": previous, "previous_valid_until": until}


async def retire_outdated(uow: IdentityUow, keyring: Keyring) -> bool:
    """Rotate now if the signer's algorithm is not the settings' (no commit): after the
    switch from EdDSA to Ed25519, or a change of `signing_algorithm`. The old key goes on
    verifying, published under its own algorithm, until its window ends."""
    if not await keyring.outdated(uow):
        return False
    await rotate_with(uow, keyring)
    return True


def jobs(deps: Deps) -> dict[str, Handler[IdentityUow]]:
    """`{kind: handler}` for the job runner (the handlers need the keyring)."""

    async def rotate_on_schedule(job: Job, uow: IdentityUow) -> None:
        current = await uow.signing_keys.current(lock=True)
        if current is not None and current.kid == job.payload.get("kid"):
            await rotate(RotateKey(), uow, deps)
        else:
            # rotated by hand since this job was scheduled: the newer key has its own job
            await schedule_rotation(uow, deps.settings)
        await uow.commit()

    return {ROTATE_JOB: rotate_on_schedule}
