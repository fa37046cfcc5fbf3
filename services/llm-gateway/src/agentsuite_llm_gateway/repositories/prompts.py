"""Prompt templates, versions, labels (owner: prompts)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Prompts(Repository):
    pass
