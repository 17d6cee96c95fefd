"""Which records of the table's stream reach the healer: the one definition of the filter that the
stack gives the event source mapping and the local poller applies itself.

A zae-limiter table's stream carries every bucket update of every rate limit check, the bulk of
its traffic. The healer needs only the items that hold a resource's limits (``#CONFIG``; flat
``#LIMIT#...`` and the version item ``#VERSION``) and the registries (``#RESOURCES``); filtered
on the sort key, bucket traffic (``#BUCKET#...``), entity configs (``#CONFIG#{resource}``), audit
events and this service's own bookkeeping never invoke it.
"""

from __future__ import annotations

from typing import Any

from resource_registry import schema

# Lambda's filter criteria pattern (EventBridge pattern syntax): exact values, or a prefix.
SORT_KEYS: list[Any] = [
    schema.CONFIG_SORT_KEY,
    schema.RESOURCES_SORT_KEY,
    schema.VERSION_SORT_KEY,
    {"prefix": schema.LIMIT_PREFIX},
]
FILTER_PATTERN: dict[str, Any] = {"dynamodb": {"Keys": {schema.SORT_KEY: {"S": SORT_KEYS}}}}


def matches(record: dict[str, Any]) -> bool:
    """Whether ``record`` passes FILTER_PATTERN, as Lambda's filtering decides it."""
    sort_key = record.get("dynamodb", {}).get("Keys", {}).get(schema.SORT_KEY, {}).get("S")
    if not isinstance(sort_key, str):
        return False
    return any(
        sort_key.startswith(value["prefix"]) if isinstance(value, dict) else sort_key == value
        for value in SORT_KEYS
    )
