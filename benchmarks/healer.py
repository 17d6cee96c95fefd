"""The registry healer over DynamoDB Local's stream, as `make run` runs it (the stack's function
reads the same records through the same filter in AWS): how long a registry stays wrong after a
zae-limiter write that never made its registry update, what bucket traffic costs it, and what it
reads and writes per change of defaults.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from benchmarks.report import Comparison, Figure, Goal, Section, measured_equals
from benchmarks.stats import median, p99
from devtools.call_counter import CallCounter
from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, create_layout_table
from devtools.stream_poller import StreamPoller
from resource_registry import schema, service
from resource_registry.change_events import ChangeEvent
from resource_registry.healer import RegistryHealer

SECTION = 11
# Config writes per second, and how many at each rate (a few seconds' worth).
RATES = ((1, 10), (10, 50), (100, 300))
QUICK_RATES = ((1, 3), (10, 20), (100, 100))
BUCKET_UPDATES = 10_000
# How often the poller reads each shard: about what Lambda's event source mapping does.
POLL_INTERVAL_SECONDS = 0.25
LAG_GOAL_SECONDS = 2.0
PREFIX = f"{DEFAULT_NAMESPACE_ID}/"


class Healing:
    """The healer over a fresh namespaced table's stream, in a thread; what it did, timed."""

    def __init__(self, local: DynamoDBLocal) -> None:
        self.client = local.client()
        self.name = f"heal-{uuid.uuid4().hex[:8]}"
        create_layout_table(self.client, self.name, "namespaced")  # with its stream
        healer_client = local.client()
        self.calls = CallCounter(healer_client)
        self.repaired: dict[str, float] = {}
        self._pending = threading.local()
        healer_client.meta.events.register(
            "provide-client-params.dynamodb.TransactWriteItems", self._note_repair
        )
        healer_client.meta.events.register(
            "after-call.dynamodb.TransactWriteItems", self._note_commit
        )
        self.events = 0
        self.batches = 0
        healer = RegistryHealer(service.table_over(healer_client, self.name), self)
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=local.endpoint,
            region_name=healer_client.meta.region_name,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

        def handle(batch: list[dict[str, Any]]) -> list[str]:
            self.batches += 1
            return healer.handle(batch)

        self.poller = StreamPoller(healer_client, streams, self.name, handle, from_start=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.poller.run, args=(self._stop, POLL_INTERVAL_SECONDS), daemon=True
        )

    def __enter__(self) -> Healing:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.client.delete_table(TableName=self.name)

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events += len(events)

    def zae_limiter_set(self, resource: str) -> None:
        """zae-limiter's set stopped before its registry update: the config item alone."""
        self.client.put_item(
            TableName=self.name,
            Item={
                **schema.config_key(resource, PREFIX),
                "resource": {"S": resource},
                "config_version": {"N": "1"},
                "l_rpm_cp": {"N": "100"},
                "l_rpm_ra": {"N": "100"},
                "l_rpm_rp": {"N": "60"},
                "GSI4PK": {"S": DEFAULT_NAMESPACE_ID},
                "GSI4SK": {"S": schema.resource_pk(resource, PREFIX)},
            },
        )

    def wait_until(self, done: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError("the healer did not catch up within a minute")
            time.sleep(0.05)

    def _note_repair(self, params: dict[str, Any], **_: Any) -> None:
        """The names a repair is about to register (per thread: the healer's run at once)."""
        registry = params["TransactItems"][-1].get("Update", {})
        names = registry.get("ExpressionAttributeValues", {}).get(":names", {}).get("SS", [])
        self._pending.names = names

    def _note_commit(self, http_response: Any, **_: Any) -> None:
        """When the repair committed."""
        if http_response.status_code == 200:
            now = time.monotonic()
            for name in getattr(self._pending, "names", []):
                self.repaired.setdefault(name, now)
        self._pending.names = []


def run(local: DynamoDBLocal, quick: bool = False) -> Section:
    section = Section(SECTION, "Registry healer over the table's stream")
    for rate, count in QUICK_RATES if quick else RATES:
        section.figures += _repair_lag(local, rate, count)
    section.figures += _bucket_traffic(local, 1_000 if quick else BUCKET_UPDATES)
    section.figures += _cost_per_change(local)
    section.notes.append(
        "Lag: from a zae-limiter write that stopped before its registry update (its config "
        "PutItem returned) to the healer's repair committing, on a namespaced table in DynamoDB "
        f"Local, its stream polled every {POLL_INTERVAL_SECONDS} s per shard as Lambda's event "
        "source mapping does; the same code and filter as the stack's function."
    )
    return section


def _repair_lag(local: DynamoDBLocal, rate: int, count: int) -> list[Figure]:
    written: dict[str, float] = {}
    with Healing(local) as healing:
        started = time.monotonic()
        for index in range(count):
            # Paced from the start, so a slow write does not slow the rate down.
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            resource = f"model-{rate}-{index:04}"
            healing.zae_limiter_set(resource)
            written[resource] = time.monotonic()
        healing.wait_until(lambda: len(healing.repaired) >= count)
        lags = [healing.repaired[resource] - at for resource, at in written.items()]
    goal = Goal(f"p99 < {LAG_GOAL_SECONDS:g} s", lambda figure: figure.measured < LAG_GOAL_SECONDS)
    return [
        Figure(
            f"repair lag, median, {rate} config writes/s",
            median(lags),
            LAG_GOAL_SECONDS,
            "s",
            measured_note=f"{count} writes",
            baseline_note="the goal",
        ),
        Figure(
            f"repair lag, p99, {rate} config writes/s",
            p99(lags),
            LAG_GOAL_SECONDS,
            "s",
            goal=goal if rate == max(rate for rate, _ in RATES) else None,
            baseline_note="the goal",
        ),
    ]


def _bucket_traffic(local: DynamoDBLocal, updates: int) -> list[Figure]:
    with Healing(local) as healing:
        healing.wait_until(lambda: healing.poller.records_seen > 0)  # the table's own records
        batches_before, seen_before = healing.batches, healing.poller.records_seen
        for start in range(0, updates, 25):
            healing.client.batch_write_item(
                RequestItems={
                    healing.name: [
                        {
                            "PutRequest": {
                                "Item": {
                                    "PK": {"S": f"{PREFIX}BUCKET#entity-{index}#gpt-4#0"},
                                    "SK": {"S": "#STATE"},
                                    "tokens_milli": {"N": str(index)},
                                }
                            }
                        }
                        for index in range(start, min(start + 25, updates))
                    ]
                }
            )
        healing.wait_until(lambda: healing.poller.records_seen - seen_before >= updates)
        invocations = healing.batches - batches_before
        seen = healing.poller.records_seen - seen_before
    return [
        Figure(
            f"healer invocations per {updates:,} bucket updates",
            invocations,
            seen,
            "",
            comparison=Comparison.RELATIVE,
            goal=measured_equals(0, ""),
            baseline_note="records in the stream",
        )
    ]


def _cost_per_change(local: DynamoDBLocal) -> list[Figure]:
    changes = 20
    with Healing(local) as healing:
        # Once per process: the namespace's name, by its id.
        healing.zae_limiter_set("first")
        healing.wait_until(lambda: healing.events >= 1)
        healing.events = 0
        healing.calls.calls.clear()
        for index in range(changes):
            healing.zae_limiter_set(f"costly-{index:02}")
        healing.wait_until(lambda: healing.events >= changes)
        calls = dict(healing.calls.calls)
    reads = sum(calls.get(name, 0) for name in ("GetItem", "BatchGetItem", "Query"))
    transactions = calls.get("TransactWriteItems", 0)
    other_writes = calls.get("UpdateItem", 0)
    at_most_one = Goal("≤ 1", lambda figure: figure.measured <= 1)
    return [
        Figure(
            "healer reads per change of defaults",
            reads / changes,
            1,
            "",
            goal=at_most_one,
            measured_note=", ".join(f"{k} {v}" for k, v in sorted(calls.items())),
        ),
        Figure(
            "healer transactions per change (registry repair)",
            transactions / changes,
            1,
            "",
            goal=at_most_one,
        ),
        Figure(
            "healer other writes per change (the published-event mark)",
            other_writes / changes,
            1,
            "",
        ),
    ]
