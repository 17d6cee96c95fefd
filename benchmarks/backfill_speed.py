"""Issue 4.4: the backfill over a big legacy table, against the floor any backfill can reach.

The floor is a bare paginated Scan sending the backfill's own request and doing nothing with
what it reads. Each backfill starts from the legacy state (limit items, no registry), and runs
interleave with the floor's so that both see the same machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks.dataset import RESOURCES, LoadedTable
from benchmarks.metering import DynamoDBMeter
from benchmarks.report import Figure, Section, ratio_at_most
from benchmarks.stats import median
from resource_registry import schema, service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.dynamodb import all_items
from resource_registry.layouts.flat import limit_item_scan

SEGMENT_COUNTS = (1, 4)
REPEATS = 3
MAX_RATIO = 1.2


@dataclass(frozen=True)
class Pass:
    """One full pass over the table: how long it took and the read units it consumed."""

    seconds: float
    read_units: float


def run(client_factory: Callable[[], Any], table: LoadedTable) -> Section:
    section = Section(6, f"Backfill of {table.items:,} legacy items (vs bare paginated Scan)")
    client = client_factory()
    bare_scan = partial(_bare_scan, client_factory, table.name)
    backfill = partial(_backfill, client_factory, table.name)
    for segments in SEGMENT_COUNTS:
        floors: list[Pass] = []
        backfills: list[Pass] = []
        for _ in range(REPEATS):
            floors.append(_in_segments(segments, bare_scan))
            _forget_registry(client, table.name)
            backfills.append(_in_segments(segments, backfill))
            _check_registry_complete(client, table.name)
        section.figures += _figures(segments, backfills, floors)
    _forget_registry(client, table.name)
    section.notes.append(
        f"Median of {REPEATS} passes each; segments run in threads, one client each, as separate "
        "Lambda invocations would. The backfill's read units include its registry reads."
    )
    return section


def _figures(segments: int, backfills: list[Pass], floors: list[Pass]) -> list[Figure]:
    label = f"{segments} segment{'s' if segments > 1 else ''}"
    return [
        Figure(
            f"backfill wall time, {label}",
            median([run.seconds for run in backfills]),
            median([run.seconds for run in floors]),
            "s",
            goal=ratio_at_most(MAX_RATIO),
        ),
        Figure(
            f"backfill read units, {label}",
            median([run.read_units for run in backfills]),
            median([run.read_units for run in floors]),
            "RCU",
            goal=ratio_at_most(MAX_RATIO),
        ),
    ]


def _in_segments(total: int, scan_segment: Callable[[int, int], float]) -> Pass:
    """Run every segment at once, one thread each; the pass's time is the slowest segment's."""
    started = time.perf_counter()
    with ThreadPoolExecutor(total) as pool:
        read_units = sum(pool.map(lambda segment: scan_segment(segment, total), range(total)))
    return Pass(time.perf_counter() - started, read_units)


def _bare_scan(client_factory: Callable[[], Any], table: str, segment: int, total: int) -> float:
    """The floor: the backfill's Scan request, paginated, its items unread. Returns read units."""
    client = client_factory()
    meter = DynamoDBMeter(client)
    all_items(client.scan, **limit_item_scan(table, segment, total))
    return meter.take().read_units


def _backfill(client_factory: Callable[[], Any], table: str, segment: int, total: int) -> float:
    """One segment's backfill, resumed on its continuation until done. Returns read units."""
    client = client_factory()
    # The layout is detected once per process, at a cold start: not part of the scan.
    reconciler = RegistryReconciler(service.table_over(client, table))
    meter = DynamoDBMeter(client)
    request = BackfillRequest(Mode.BACKFILL, segment, total)
    while True:
        summary = reconciler.run(request)
        if summary.continuation is None:
            break
        request = request.resumed_from(summary.continuation)
    return meter.take().read_units


def _forget_registry(client: Any, table: str) -> None:
    """Back to the legacy state: the limit items stay, the registry goes."""
    client.delete_item(TableName=table, Key=schema.registry_key())


def _check_registry_complete(client: Any, table: str) -> None:
    item = client.get_item(TableName=table, Key=schema.registry_key(), ConsistentRead=True)
    registered = set(item.get("Item", {}).get(schema.ATTR_RESOURCES, {}).get("SS", []))
    if registered != set(RESOURCES):
        raise AssertionError(f"the backfill registered {sorted(registered)}, not {RESOURCES}")
