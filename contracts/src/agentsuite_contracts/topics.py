"""A topic's description: name, key, partitions, kind, payloads, owner and consumers.

The registry (`agentsuite_contracts.registry`) lists every topic of Agentsuite.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
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
    replies: tuple[str, ...] = Field(
        default=(),
        description="Reply topics of this one: each carries some of its payloads to one "
        "reader (a requester's own answers); this topic stays their types' home.",
    )

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


class Registry:
    """A set of topics, looked up by name or by the message type they carry.

    A message type travels on one topic, its home (what `topic_for_type` answers), except
    on the reply topics its home declares (`Topic.replies`): each carries some of the
    home's types, keyed alike, for one reader.

    `agentsuite_contracts.registry.REGISTRY` is Agentsuite's. `with_topics` makes one that
    also knows topics outside it, for the kit's own tests (a sample service with test-only
    payloads); services subscribe only through the real one.
    """

    def __init__(self, topics: tuple[Topic, ...]) -> None:
        self.topics = topics
        self._by_name: dict[str, Topic] = {}
        self._by_type: dict[str, Topic] = {}
        self._homes: dict[str, Topic] = {}
        for t in topics:
            if t.name in self._by_name:
                raise ValueError(f"topic {t.name} is registered twice")
            self._by_name[t.name] = t
            for name in t.replies:
                other = self._homes.setdefault(name, t)
                if other is not t:
                    raise ValueError(f"reply topic {name} is declared by {other.name} and {t.name}")
        for name, home in self._homes.items():
            self._check_reply(name, home)
        for t in topics:
            if t.name in self._homes:
                continue  # a reply topic repeats types of its home, which stays their topic
            for ty in t.types:
                other = self._by_type.setdefault(ty, t)
                if other is not t:
                    raise ValueError(f"message type {ty} is on both {other.name} and {t.name}")

    def _check_reply(self, name: str, home: Topic) -> None:
        reply = self._by_name.get(name)
        if reply is None:
            raise ValueError(f"{home.name} declares reply topic {name}, which is not registered")
        if reply.replies:
            raise ValueError(f"reply topic {name} declares reply topics of its own")
        if reply.key != home.key or reply.kind != home.kind:
            raise ValueError(f"reply topic {name} is not keyed and kinded like {home.name}")
        foreign = [ty for ty in reply.types if ty not in home.types]
        if foreign:
            raise ValueError(f"reply topic {name} carries {foreign}, which {home.name} does not")

    def with_topics(self, *topics: Topic) -> Registry:
        """This registry plus `topics`."""
        return Registry((*self.topics, *topics))

    def get(self, name: str) -> Topic | None:
        return self._by_name.get(name)

    def topic(self, name: str) -> Topic:
        """The topic called `name`."""
        found = self._by_name.get(name)
        if found is None:
            raise KeyError(f"unknown topic {name!r}; known: {', '.join(sorted(self._by_name))}")
        return found

    def home_of(self, name: str) -> Topic | None:
        """The topic whose reply topic `name` is; None when `name` is not a reply topic."""
        return self._homes.get(name)

    def carrying(self, type_: str) -> Topic | None:
        """The topic that carries messages of type `type_`, if any."""
        return self._by_type.get(type_)

    def topic_for_type(self, type_: str) -> Topic:
        """The topic that carries messages of type `type_`."""
        found = self._by_type.get(type_)
        if found is None:
            raise KeyError(f"unknown message type {type_!r}; no topic carries it")
        return found

    def check_subscription(self, name: str, topic: str, payloads: Iterable[type[Payload]]) -> None:
        """Raise `ValueError` unless `topic` is registered and carries every one of `payloads`:
        a consumer `name` of anything else would wait for messages no producer sends."""
        found = self._by_name.get(topic)
        if found is None:
            raise ValueError(
                f"consumer {name}: topic {topic!r} is not in the contracts registry "
                f"(agentsuite_contracts.registry); known: {', '.join(sorted(self._by_name))}"
            )
        for cls in payloads:
            ty = type_of(cls)
            if ty in found.types:
                continue
            elsewhere = self._by_type.get(ty)
            where = (
                f"it travels on {elsewhere.name}"
                if elsewhere is not None
                else "no registered topic carries it"
            )
            raise ValueError(
                f"consumer {name}: topic {topic} does not carry {cls.__name__} ({ty!r}); "
                f"{where}. {topic} carries: {', '.join(found.types)}"
            )
