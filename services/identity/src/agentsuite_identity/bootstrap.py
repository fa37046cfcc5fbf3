"""First start: the platform operator and one account per service, each credential written
once to `settings.bootstrap_dir` with mode 0600.

The operator is a platform principal (no tenant, every capability): with its credential
`agentsuite tenant create` (or the API) makes tenants. Each other service gets its own
service account the same way, so no secret ever sits in code or config. A credential is
written only when its account is created; identity keeps just a hash, so a lost file is
replaced by rotating the account's secret (`POST /v1/service-accounts/{id}/rotate-secret`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.capabilities import OPERATOR, SERVICE
from agentsuite_identity.handlers.service_accounts import (
    NewServiceAccount,
    create_service_account,
)

log = logging.getLogger(__name__)

OPERATOR_NAME = "platform-operator"

Kind = Literal["platform", "service"]


def credential_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def _write_once(path: Path, document: dict[str, str]) -> None:
    """Create `path` readable by its owner only; never overwrite one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out, indent=2)


async def bootstrap(deps: Deps) -> list[str]:
    """Create the accounts that do not exist yet; return the names created."""
    directory = deps.settings.bootstrap_dir
    if directory is None:
        return []
    wanted: dict[str, tuple[Kind, list[str]]] = {OPERATOR_NAME: ("platform", list(OPERATOR))}
    for service in deps.settings.bootstrap_services:
        if service != "identity":
            wanted[service] = ("service", list(SERVICE))
    token_url = f"{deps.settings.base_url()}/v1/token"
    created: list[str] = []
    async with deps.runtime.uow(None) as uow:
        await uow.service_accounts.lock_bootstrap()
        written: list[Path] = []
        try:
            for name, (kind, caps) in wanted.items():
                path = credential_path(directory, name)
                if await uow.service_accounts.by_name(name) is not None:
                    if not path.exists():
                        log.warning(
                            "credential of %s is not on disk; rotate its secret to get one", name
                        )
                    continue
                cmd = NewServiceAccount(name=name, kind=kind, capabilities=caps, commit=False)
                _, client_id, secret = await create_service_account(cmd, uow, deps)
                _write_once(
                    path,
                    {
                        "client_id": client_id,
                        "client_secret": secret,
                        "token_url": token_url,
                        "issuer": deps.settings.jwt_issuer,
                        "audience": deps.settings.jwt_audience,
                    },
                )
                written.append(path)
                created.append(name)
            await uow.commit()
        except BaseException:
            # the accounts were not saved: a credential on disk would name nothing
            for path in written:
                path.unlink(missing_ok=True)
            raise
    if created:
        log.info("bootstrap created %s; credentials in %s", ", ".join(created), directory)
    return created
