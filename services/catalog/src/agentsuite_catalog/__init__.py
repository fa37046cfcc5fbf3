"""Agentsuite catalog."""
