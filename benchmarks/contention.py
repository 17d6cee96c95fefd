"""Issue 6.5: what one shared registry item costs concurrent writers.

Writers set the defaults of distinct resources, so the only item they share is the registry.
The baseline runs the very same transactions with the registry update taken out, so the
difference is the shared item's cost and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from benchmarks.metering import DynamoDBMeter
from benchmarks.report import Comparison, Figure, Goal, Section
from benchmarks.stats import elapsed_ms, p99
from devtools.dynamodb_local import create_table
from resource_registry import schema, service
from resource_registry.errors import ConcurrentUpdateError
from resource_registry.model import Limit

WRITER_COUNTS = (1, 4, 16)
# The same total work at every concurrency, so throughputs compare directly.
TOTAL_SETS = 320
WARMUP_SETS = 50
TABLE = "bench-contention"


@dataclass
class WriterRun:
    """What a group of concurrent writers did."""

    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    conflicts: int = 0
    failures: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds


def run(client_factory: Callable[[], Any]) -> Section:
    section = Section(5, "Write contention on the shared registry item (vs same writes without it)")
    create_table(client_factory(), TABLE)
    # DynamoDB Local's JVM speeds up as it warms; neither side should pay for that alone.
    _run_writers(client_factory(), 1, "warm-up", sets=WARMUP_SETS)
    _run_writers(_without_registry(client_factory()), 1, "warm-up-alone", sets=WARMUP_SETS)
    for writers in WRITER_COUNTS:
        shared = _run_writers(client_factory(), writers, f"shared-{writers}")
        alone = _run_writers(_without_registry(client_factory()), writers, f"alone-{writers}")
        section.figures += _figures(writers, shared, alone)
    section.notes.append(
        f"{TOTAL_SETS} sets of 2 limits at each concurrency, split across the writers; conflicts "
        "are TransactionCanceledException (or TransactionConflict) answers, each retried by the "
        "store with backoff. DynamoDB Local reported no conflicts at any concurrency (it "
        "appears to apply transactions one at a time), so these figures show the queueing cost "
        "of the shared item, not the TransactionConflict cancellations DynamoDB returns when "
        "two transactions touch the registry item at once; the store's retries absorb those.",
    )
    return section


def _figures(writers: int, shared: WriterRun, alone: WriterRun) -> list[Figure]:
    label = f"{writers} writer{'s' if writers > 1 else ''}"
    failures = shared.failures + alone.failures
    return [
        Figure(f"{label}: throughput", shared.throughput, alone.throughput, "sets/s"),
        Figure(
            f"{label}: conflicts retried",
            shared.conflicts,
            alone.conflicts,
            "",
            goal=Goal("no failed write", lambda _: failures == 0),
            measured_note=f"{shared.failures} failed",
        ),
        Figure(
            f"{label}: p99 set latency",
            p99(shared.latencies_ms),
            p99(alone.latencies_ms),
            "ms",
            Comparison.RELATIVE,
        ),
    ]


def _run_writers(client: Any, writers: int, prefix: str, sets: int = TOTAL_SETS) -> WriterRun:
    meter = DynamoDBMeter(client)
    result = WriterRun()
    lock = threading.Lock()
    start_together = threading.Barrier(writers + 1)

    def write(writer: int) -> None:
        store = service.store_over(client, TABLE)
        resource = f"{prefix}-{writer:02}"
        start_together.wait()
        for round_number in range(sets // writers):
            limits = _limits(round_number)
            try:
                latency = elapsed_ms(partial(store.set_defaults, resource, limits))
            except ConcurrentUpdateError:
                with lock:
                    result.failures += 1
                continue
            with lock:
                result.latencies_ms.append(latency)

    with ThreadPoolExecutor(writers) as pool:
        futures = [pool.submit(write, writer) for writer in range(writers)]
        start_together.wait()
        started = time.perf_counter()
        for future in futures:
            future.result()
        result.seconds = time.perf_counter() - started
    result.conflicts = meter.take().transaction_conflicts
    return result


def _without_registry(client: Any) -> Any:
    """The client, with every transaction's update of the registry item taken out."""

    def drop_registry_update(params: dict[str, Any], **_: Any) -> None:
        params["TransactItems"] = [
            action
            for action in params["TransactItems"]
            if action.get("Update", {}).get("Key") != schema.registry_key()
        ]

    client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", drop_registry_update
    )
    return client


def _limits(round_number: int) -> tuple[Limit, ...]:
    # A new capacity every round, so each set really changes the items it writes.
    capacity = 100 + round_number
    return (
        Limit("rpm", capacity, capacity, capacity, 60),
        Limit("tpm", capacity * 100, capacity * 100, capacity * 100, 60),
    )
