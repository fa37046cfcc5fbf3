"""The credential a tool call presents: its binding's `auth` opened from the tenant's
secrets in the step's own unit of work."""

from __future__ import annotations

from agentsuite_contracts.catalog import ToolAuth
from agentsuite_execution.domain.secrets import SCHEMES
from agentsuite_execution.tools.calls import ToolError
from agentsuite_execution.tools.credentials import Credential, SealError, SecretBox
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.credentials import TOKEN, reserved_header


async def credential_of(uow: ExecutionUow, box: SecretBox, auth: ToolAuth) -> Credential:
    """The credential `auth` names, opened from the tenant's secrets (the unit of work's
    tenant: RLS hides every other tenant's, so a name never resolves across tenants).
    Fails closed as a ToolError that never quotes the value."""
    tenant = uow.tenant_id
    if tenant is None:
        raise ValueError("credentials are per tenant: use the step's tenant's unit of work")
    scheme = str(auth.scheme)
    if scheme not in SCHEMES:
        raise ToolError("invalid_binding", f"auth scheme {scheme!r} is not supported")
    if scheme in ("header", "query") and not auth.name:
        raise ToolError("invalid_binding", f"auth scheme {scheme!r} needs a `name`")
    if scheme == "header" and auth.name is not None:
        check_header_name(auth.name)
    row = await uow.secrets.sealed(auth.secret_name)
    if row is None:
        raise ToolError(
            "secret_not_found",
            f"the tool's credential names secret {auth.secret_name!r}, which this tenant "
            "does not have",
            details={"secret": auth.secret_name},
        )
    try:
        value = box.open(tenant, auth.secret_name, row["value"], row["key_id"])
    except SealError as exc:
        raise ToolError(
            "secret_unreadable", str(exc), details={"secret": auth.secret_name}
        ) from None
    return Credential(scheme=scheme, secret_name=auth.secret_name, value=value, name=auth.name)


def check_header_name(name: str) -> None:
    """A `header` credential's name: a valid header name, and none that execution sets
    itself (framing, idempotency, its own `X-Agentsuite-*`), which it would override: the
    kit's rule, which catalog applies when the binding is registered."""
    if not TOKEN.match(name) or reserved_header(name):
        raise ToolError(
            "invalid_binding",
            f"auth.name {name!r} is not a header a credential may be sent in",
        )
