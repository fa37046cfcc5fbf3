"""A topic's description: name, key, partitions, kind, payloads, owner and consumers.

The registry (`agentsuite_contracts.registry`) lists every topic of Agentsuite.
"""

from __future__ import annotations

import functools
import operator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentsuite_contracts.envelope import MessageKind, Payload, kind_of


def type_of(cls: type[Payload]) -> str:
    """The `type` literal a payload class is pinned to."""
    default = cls.model_fields["type"].default
    if not isinstance(default, str):
        raise TypeError(f"{cls.__qualname__}.type has no literal default")
    return default


def union_of(classes: tuple[type[Payload], ...]) -> Any:
    """The payload classes as one union, discriminated on `type`."""
    # Built at runtime from the class list, so static typing cannot follow: Any on purpose.
    members = functools.reduce(operator.or_, classes)
    return Annotated[members, Field(discriminator="type")]


class Topic(BaseModel):
    """One Kafka topic: what travels on it, keyed how, owned by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Versioned topic name, e.g. `planning.plans.v1`.")
    key: str = Field(
        description="The payload field whose value is the message key (the aggregate id); "
        "`tenant_id` where no payload field has it names the envelope's tenant."
    )
    partitions: int = Field(gt=0, description="Partition count to create it with.")
    kind: MessageKind = Field(
        default="events",
        description="`events` (facts, any service may react) or `commands` (requests that "
        "the consuming service act); every payload on it is of that kind.",
    )
    payloads: tuple[type[Payload], ...] = Field(
        min_length=1, description="Payload classes it carries."
    )
    owner: str = Field(description="The only service that publishes to it.")
    consumers: tuple[str, ...] = Field(description="Services that consume it.")
    description: str = Field(description="What the topic is for.")

    @model_validator(mode="after")
    def _payloads_fit(self) -> Topic:
        actors = [c for c in self.consumers if c != "audit"]  # audit only keeps the trail
        if self.kind == "commands" and len(actors) != 1:
            raise ValueError(
                f"consumers: a command topic has one service acting on it, not {actors}"
            )
        for cls in self.payloads:
            try:
                kind = kind_of(cls)
            except TypeError as exc:
                raise ValueError(f"payloads: {exc}") from None
            if kind != self.kind:
                raise ValueError(
                    f"payloads: {cls.__name__} is not of kind {self.kind!r} like topic {self.name}"
                )
            # `tenant_id` absent from the payload names the envelope's tenant
            if self.key not in cls.model_fields and self.key != "tenant_id":
                raise ValueError(f"key: {cls.__name__} has no field {self.key!r}")
        return self

    @property
    def payload(self) -> Any:
        """The payload union, discriminated on `type`."""
        return union_of(self.payloads)

    @property
    def types(self) -> tuple[str, ...]:
        """The message types it carries."""
        return tuple(type_of(c) for c in self.payloads)
