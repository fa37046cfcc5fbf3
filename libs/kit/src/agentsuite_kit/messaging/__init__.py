"""Kafka: broker factory, topic admin, dead-lettering consumers and the redrive."""
