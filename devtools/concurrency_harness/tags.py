"""Limits that name the write they come from, so that a mix of two writes shows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

LIMIT_NAME = re.compile(r"(?P<writer>w\d+)-n(?P<nonce>\d+)-(?P<index>\d+)of(?P<count>\d+)")


def limits_for(tag: str, count: int) -> list[dict[str, int | str]]:
    """A write's limits: names carry the tag, numbers derive from the nonce and the index."""
    match = LIMIT_NAME.fullmatch(f"{tag}-1of{count}")
    assert match is not None
    nonce, writer = int(match["nonce"]), int(match["writer"][1:])
    return [
        {
            "name": f"{tag}-{index}of{count}",
            "capacity": nonce * 100 + index,
            "refill_period_seconds": writer + 1,
        }
        for index in range(1, count + 1)
    ]


def tag_of(limits: Sequence[dict[str, Any]]) -> tuple[str | None, str]:
    """The tag of the one write these limits all come from, or None and why they do not."""
    parsed = [(LIMIT_NAME.fullmatch(str(limit.get("name", ""))), limit) for limit in limits]
    if not parsed or any(match is None for match, _ in parsed):
        return None, f"limits {[limit.get('name') for limit in limits]} are not one write's"
    tags = {f"{match['writer']}-n{match['nonce']}" for match, _ in parsed if match}
    counts = {int(match["count"]) for match, _ in parsed if match}
    indexes = sorted(int(match["index"]) for match, _ in parsed if match)
    if len(tags) != 1 or len(counts) != 1 or indexes != list(range(1, counts.pop() + 1)):
        return None, f"limits mix writes: {sorted(str(limit['name']) for limit in limits)}"
    tag = tags.pop()
    expected = {str(limit["name"]): limit for limit in limits_for(tag, len(limits))}
    for _, limit in parsed:
        wanted = expected[str(limit["name"])]
        if (limit["capacity"], limit["refill_period_seconds"]) != (
            wanted["capacity"],
            wanted["refill_period_seconds"],
        ):
            return None, f"limit {limit['name']} carries another write's numbers: {limit}"
    return tag, ""
