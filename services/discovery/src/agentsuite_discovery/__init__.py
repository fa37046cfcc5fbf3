"""Agentsuite discovery."""
