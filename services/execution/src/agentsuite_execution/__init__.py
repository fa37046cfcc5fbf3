"""Agentsuite execution: durable runs of approved plans."""
