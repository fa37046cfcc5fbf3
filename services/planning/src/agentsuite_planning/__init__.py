"""Agentsuite planning."""
