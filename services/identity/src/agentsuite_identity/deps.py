"""What handlers and routes share beside the unit of work: one instance per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentsuite_identity.access import Access
from agentsuite_identity.limits import KeyLimiter
from agentsuite_identity.passwords import Passwords
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.signing import Keyring
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.runtime import Runtime


@dataclass
class Deps:
    settings: IdentitySettings
    runtime: Runtime[IdentityUow] = field(init=False)
    passwords: Passwords = field(init=False)
    keyring: Keyring = field(init=False)
    access: Access = field(init=False)
    limiter: KeyLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.passwords = Passwords(self.settings)
        self.keyring = Keyring(self.settings)
        self.access = Access(self.settings)
        self.limiter = KeyLimiter()
