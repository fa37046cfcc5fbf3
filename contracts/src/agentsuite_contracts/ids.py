"""Time-ordered identifiers (UUIDv7, RFC 9562) without a third-party dependency."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> uuid.UUID:
    """Return a UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter, then random bits.

    The counter keeps ids minted in the same millisecond strictly increasing in this
    process, so sorting by id sorts by creation order (RFC 9562 method 1).
    """
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _seq = ms, int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _seq += 1
            if _seq > 0xFFF:  # counter spent: borrow the next millisecond
                _last_ms, _seq = _last_ms + 1, 0
            ms = _last_ms
        seq = _seq  # read under the lock: another thread may bump _seq once it is released
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    """The Unix milliseconds a UUIDv7 was minted at."""
    return value.int >> 80
