"""Numbers in what a client sends (headers, cursors, path segments): ASCII digits only.

`str.isdigit()` is true for "²" and "٣", and `int("²")` then raises; `int()` also
refuses more than 4,300 digits. A check made of the two turned such a header into a 500.
"""

from __future__ import annotations

# past this many digits a number is larger than any limit it is compared with
_LONGEST = 64
HUGE: int = 10**_LONGEST


def ascii_int(value: str) -> int | None:
    """The non-negative integer `value` spells in ASCII digits (blanks around them
    allowed); None when it spells none. More than 64 digits read as `HUGE`."""
    text = value.strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text.lstrip("0")) > _LONGEST:
        return HUGE
    return int(text)
