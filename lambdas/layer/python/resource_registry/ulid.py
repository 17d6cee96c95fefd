"""ULIDs: 48 bits of milliseconds and 80 random bits, in Crockford's base32 (26 characters).

zae-limiter names audit events by ULID, so events sort by time within a partition.
"""

from __future__ import annotations

import re
import secrets
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def new_ulid(now_ms: int | None = None) -> str:
    """A new ULID for ``now_ms`` (default: now)."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_ulid(text: str) -> bool:
    """Whether ``text`` is a ULID in canonical form."""
    return ULID_PATTERN.fullmatch(text) is not None
