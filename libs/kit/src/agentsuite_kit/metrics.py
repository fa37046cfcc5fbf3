"""The kit's own Prometheus series: outbox backlog and parking, consumer outcomes, lag,
retries and dead letters, labelled by consumer group. One instance per registry, so
several services (or tests) in one process never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class KitMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.outbox_backlog = Gauge(
            "agentsuite_outbox_backlog", "Outbox rows waiting to be published.", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "agentsuite_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row.",
            registry=r,
        )
        self.outbox_parked = Gauge(
            "agentsuite_outbox_parked", "Outbox rows parked after repeated failures.", registry=r
        )
        self.outbox_published = Counter(
            "agentsuite_outbox_published", "Outbox rows acknowledged by the broker.", registry=r
        )
        self.outbox_failures = Counter(
            "agentsuite_outbox_send_failures", "Outbox sends that failed.", registry=r
        )
        self.relay_leader = Gauge(
            "agentsuite_outbox_relay_leader",
            "1 while this process holds the relay leadership.",
            registry=r,
        )
        self.consumed = Counter(
            "agentsuite_consumer_messages",
            "Messages a consumer group finished with, by outcome.",
            ["group", "outcome"],
            registry=r,
        )
        self.skipped = Counter(
            "agentsuite_consumer_skipped",
            "Messages skipped: a type or value this consumer does not know.",
            ["group", "reason"],
            registry=r,
        )
        self.retries = Counter(
            "agentsuite_consumer_retries",
            "Messages sent to a delayed retry tier.",
            ["group", "tier"],
            registry=r,
        )
        self.transient = Counter(
            "agentsuite_consumer_transient_errors",
            "Transient failures retried in place (offset not committed).",
            ["group"],
            registry=r,
        )
        self.dead_letters = Counter(
            "agentsuite_consumer_dead_letters",
            "Messages sent to the group's dead-letter topic, by reason.",
            ["group", "reason"],
            registry=r,
        )
        self.lag = Gauge(
            "agentsuite_consumer_lag",
            "Records behind the end of the partition, at the last fetch.",
            ["group", "topic", "partition"],
            registry=r,
        )
