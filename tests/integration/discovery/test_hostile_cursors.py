"""Cursors written by hand: readable JSON with the right shape but a value no column of that
list can hold is a 400 `invalid_cursor`, never a 500 from the driver."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import User


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("seq", [2**31, -(2**31) - 1, 2**62], ids=str)
async def test_a_turns_cursor_past_the_seq_column_is_a_400(service: Service, seq: int) -> None:
    user = User(service)
    view = await user.open()
    r = await user.get(f"/v1/sessions/{view['id']}/turns?cursor={cursor(seq)}")
    assert (r.status_code, r.json().get("code")) == (400, "invalid_cursor"), r.text
    fine = await user.get(f"/v1/sessions/{view['id']}/turns?cursor={cursor(2**31 - 1)}")
    assert (fine.status_code, fine.json()["items"]) == (200, [])
