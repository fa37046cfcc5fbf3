"""The kit's reading of a model's JSON answer (discovery's turns, planning's drafts)."""

from __future__ import annotations

import pytest

from agentsuite_kit.answers import AnswerError, answer_object

pytestmark = pytest.mark.unit


def test_a_fenced_object_is_read() -> None:
    assert answer_object('```json\n{"a": 1}\n```', max_bytes=1024) == {"a": 1}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "no text"),
        ("x" * 2048, "larger than 1 KiB"),
        ('{"a": NaN}', "not JSON: NaN is not JSON"),
        ('{"a": 1e400}', "not JSON: number 1e400 too large"),
        ("[1]", "not a JSON object"),
        ("[" * 900 + "]" * 900, "not"),
        ("not json", "not JSON"),
    ],
)
def test_anything_else_is_a_reason_never_another_error(text: object, reason: str) -> None:
    with pytest.raises(AnswerError) as refused:
        answer_object(text, max_bytes=1024 if text != "[" * 900 + "]" * 900 else 10**6)
    assert str(refused.value).startswith(reason)
