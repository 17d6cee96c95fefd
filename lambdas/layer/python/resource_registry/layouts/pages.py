"""A backfill page's request: which segment of a parallel Scan, where it starts, how many items."""

from __future__ import annotations

from typing import Any


def paged(request: dict[str, Any], start_key: dict[str, Any] | None, page_size: int | None) -> None:
    """Complete a backfill page request: capacity returned, where to start, how many items."""
    request["ReturnConsumedCapacity"] = "TOTAL"
    if start_key:
        request["ExclusiveStartKey"] = start_key
    if page_size:
        request["Limit"] = page_size


def segmented(scan: dict[str, Any], segment: int, total_segments: int) -> dict[str, Any]:
    """A Scan limited to one segment of a parallel scan (the whole table for one segment)."""
    if total_segments > 1:
        scan["Segment"] = segment
        scan["TotalSegments"] = total_segments
    return scan
