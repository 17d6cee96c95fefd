"""Issue 6.1: what listing the registry costs as the table grows, against the old full Scan.

The old list scanned the whole table for RESOURCE# keys; it lives on here only as the baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.dataset import LoadedTable
from benchmarks.item_size import eventually_consistent_read_units, item_size
from benchmarks.metering import DynamoDBMeter, Usage
from benchmarks.report import Comparison, Figure, Goal, Section, measured_equals
from benchmarks.stats import elapsed_ms, median, p99
from resource_registry import schema, service
from resource_registry.dynamodb import all_items

LIST_SAMPLES = 300
LIST_WARMUP = 30
# Scans are slow on big tables; enough samples for a median without stretching the run.
SCANNED_ITEMS_PER_SIZE = 150_000
MIN_SCAN_SAMPLES, MAX_SCAN_SAMPLES = 5, 30
READ_UNITS_OF_A_LIST = 0.5  # one eventually consistent read of an item under 4 KB
MIN_SAVING_AT_LARGEST = 3_000


def run(client_factory: Callable[[], Any], tables: Sequence[LoadedTable]) -> Section:
    section = Section(1, "List cost versus table size (registry GetItem vs old full-table Scan)")
    largest = max(tables, key=lambda table: table.items)
    for table in sorted(tables, key=lambda table: table.items):
        section.figures += _figures_for(client_factory, table, is_largest=table is largest)
    section.notes.append(
        "Read units are what DynamoDB Local reports (ReturnConsumedCapacity=TOTAL); the Scan is "
        "paginated, eventually consistent, FilterExpression begins_with(PK, 'RESOURCE#'), "
        "ProjectionExpression PK. The 'as AWS bills' row recomputes both from item sizes."
    )
    return section


def scan_for_resources(client: Any, table: str) -> set[str]:
    """The old list: a full-table Scan keeping the names found in RESOURCE# keys."""
    request: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#pk",
        "FilterExpression": "begins_with(#pk, :prefix)",
        "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
        "ExpressionAttributeValues": {":prefix": {"S": schema.RESOURCE_PREFIX}},
    }
    return {
        schema.resource_from_pk(item[schema.PARTITION_KEY]["S"]) or ""
        for item in all_items(client.scan, **request)
    }


def _figures_for(
    client_factory: Callable[[], Any], table: LoadedTable, *, is_largest: bool
) -> list[Figure]:
    listing, scanning = _usage_of_one_list_each(client_factory(), table.name)
    # Latency on a client without the meter's hooks, so neither side pays for them.
    client = client_factory()
    store = service.store_over(client, table.name)
    for _ in range(LIST_WARMUP):
        store.list_resources()
    list_ms = [elapsed_ms(store.list_resources) for _ in range(LIST_SAMPLES)]
    scan_samples = _scan_samples(table.items)
    scan_ms = [elapsed_ms(lambda: scan_for_resources(client, table.name)) for _ in scan_samples]

    at = f"{table.items:,} items"
    samples = f"n={len(list_ms)}/{len(scan_ms)}"
    figures = [
        Figure(
            f"list read units, {at}",
            listing.read_units,
            scanning.read_units,
            "RCU",
            Comparison.SAVING,
            _read_units_goal(is_largest),
        ),
        Figure(
            f"list median latency, {at} ({samples})",
            median(list_ms),
            median(scan_ms),
            "ms",
            Comparison.SPEEDUP,
        ),
        Figure(
            f"list p99 latency, {at} ({samples})",
            p99(list_ms),
            p99(scan_ms),
            "ms",
            Comparison.SPEEDUP,
        ),
    ]
    if is_largest:
        figures += _largest_table_figures(client, table, listing.total_calls, scanning.total_calls)
    return figures


def _usage_of_one_list_each(client: Any, table: str) -> tuple[Usage, Usage]:
    """What one registry list and one old Scan cost, after checking they find the same names."""
    # The layout is detected once per process, at a cold start: not part of a list.
    store = service.store_over(client, table)
    meter = DynamoDBMeter(client)
    listed = store.list_resources()
    listing = meter.take()
    scanned = scan_for_resources(client, table)
    scanning = meter.take()
    if set(listed) != scanned:
        raise AssertionError(f"the registry {listed} differs from the Scan's {sorted(scanned)}")
    return listing, scanning


def _largest_table_figures(
    client: Any, table: LoadedTable, list_calls: int, scan_calls: int
) -> list[Figure]:
    at = f"{table.items:,} items"
    registry = client.get_item(TableName=table.name, Key=schema.registry_key())["Item"]
    return [
        Figure(f"list DynamoDB calls, {at}", list_calls, scan_calls, "", Comparison.SAVING),
        Figure(
            f"list read units as AWS bills them (item sizes), {at}",
            eventually_consistent_read_units(item_size(registry)),
            eventually_consistent_read_units(table.item_bytes),
            "RCU",
            Comparison.SAVING,
        ),
    ]


def _read_units_goal(is_largest: bool) -> Goal:
    exact = measured_equals(READ_UNITS_OF_A_LIST, "RCU")
    if not is_largest:
        return exact
    return Goal(
        f"{exact.text}, ≥ {MIN_SAVING_AT_LARGEST:,}x less",
        lambda f: exact.check(f) and (f.ratio or 0) >= MIN_SAVING_AT_LARGEST,
    )


def _scan_samples(items: int) -> range:
    wanted = SCANNED_ITEMS_PER_SIZE // max(items, 1)
    return range(max(MIN_SCAN_SAMPLES, min(MAX_SCAN_SAMPLES, wanted)))
