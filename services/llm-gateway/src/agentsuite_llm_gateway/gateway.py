"""The request path: prompt, route, budget, upstream with retries and fallbacks, trace."""

from __future__ import annotations
