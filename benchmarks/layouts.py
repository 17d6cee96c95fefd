"""Issue 9: the service on each zae-limiter layout, and against zae-limiter 0.17.0 itself.

- list costs one eventually consistent GetItem of the registry (0.5 RCU) on every layout;
- a GET of a composite resource is one GetItem, a set one read and one transaction;
- a set on a 0.17 table, next to zae-limiter 0.17.0's own set_resource_defaults (which is not
  atomic: a GetItem, a PutItem, an UpdateItem of the registry and an audit PutItem) on the same
  DynamoDB Local, same limits;
- verify and backfill of one namespace of a 100,000-item table that zae-limiter 0.17.0 made,
  reading that namespace's resources from GSI4, next to a Scan of the table.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.dataset import RESOURCES, load, other_items
from benchmarks.metering import DynamoDBMeter
from benchmarks.report import Comparison, Figure, Goal, Section, measured_equals, ratio_at_most
from benchmarks.stats import elapsed_ms, median
from benchmarks.zae_limiter_sets import (
    NAMESPACE,
    NO_BURST,
    alternate_sets,
    functions_client,
    our_set,
    warm_up,
    zae_limiter_table,
)
from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import LAYOUTS, create_layout_table
from resource_registry import schema, service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.dynamodb import all_items
from resource_registry.model import Namespace
from tests.support.zae_limiter import ZaeLimiter

NAMESPACED_TABLE_ITEMS, QUICK_NAMESPACED_TABLE_ITEMS = 100_000, 5_000
SET_SAMPLES, QUICK_SET_SAMPLES = 300, 40
MIN_NAMESPACE_SAVING = 100


def run(local: DynamoDBLocal, quick: bool, progress: Callable[[str], None]) -> Section:
    section = Section(8, "zae-limiter layouts: flat 0.6, composite 0.9, namespaced 0.17")
    for layout in LAYOUTS:
        section.figures += _per_layout(local, layout)
    progress("a set next to zae-limiter 0.17.0's own, on a table it made")
    zae = zae_limiter_table(local, "ZAEL-bench-set")
    samples = QUICK_SET_SAMPLES if quick else SET_SAMPLES
    section.figures += _set_figures(local, zae, samples)
    size = QUICK_NAMESPACED_TABLE_ITEMS if quick else NAMESPACED_TABLE_ITEMS
    progress(f"verify and backfill of one namespace of a {size:,}-item zae-limiter 0.17 table")
    section.figures += _one_namespace(local, size)
    section.notes += [
        "Layout tables are made as each release lays them out (devtools/layout_tables.py: the "
        "version record, GSI4, the default namespace); ten resources of three limits each are "
        "set through the store. Read units are what DynamoDB Local reports.",
        "The set latency compares RegistryStore.set_defaults in this process, on the client the "
        "functions make (resource_registry.clients.CLIENT_CONFIG), with zae-limiter 0.17.0's "
        "Repository.set_resource_defaults timed inside its own process (its probe, in its own "
        "virtualenv), on the same DynamoDB Local and table, three limits each, in alternating "
        "rounds. Ours is a consistent GetItem and one TransactWriteItems of four items (the "
        "config update, its audit event, the namespace check, the registry); theirs is four "
        "separate calls, not atomic. The 1-item transaction figure is what DynamoDB Local adds "
        "to a write for committing it atomically, measured in the same run.",
        "The namespace table: zae-limiter 0.17.0's create_table (GSI1-4, LSI1-5) and "
        "register_namespace, ten resources in each of two namespaces, then items that are not "
        "ours (entities, buckets, audit events, usage) with their namespace's GSI4 keys, as "
        "0.17 writes them. Verify and backfill count every read they make (the GSI4 Query, the "
        "registry, each registered resource); the baseline is one paginated full Scan.",
    ]
    return section


def _per_layout(local: DynamoDBLocal, layout: str) -> list[Figure]:
    client = local.client()
    name = f"bench-{layout}-{uuid.uuid4().hex[:8]}"
    create_layout_table(client, name, layout)
    store = service.store_over(client, name)
    for resource in RESOURCES:
        store.set_defaults(resource, NO_BURST)
    metered = local.client()
    meter = DynamoDBMeter(metered)
    measured = service.store_over(metered, name)
    # Read once per process, at a cold start: the namespace's audit retention.
    measured.audit.retention_days(measured.namespace)
    meter.take()
    measured.list_resources()
    listing = meter.take()
    measured.get_defaults(RESOURCES[0])
    getting = meter.take()
    measured.set_defaults(RESOURCES[0], NO_BURST[:2])
    setting = meter.take()
    scan = _scan_read_units(metered, meter, name)
    one_read = layout != "flat"  # one item per resource: nothing to re-read
    return [
        Figure(
            f"list read units, {layout}",
            listing.read_units,
            scan,
            "RCU",
            Comparison.SAVING,
            goal=measured_equals(0.5, "RCU"),
            measured_note=listing.describe_calls(),
            baseline_note="full Scan",
        ),
        Figure(
            f"GET round trips, {layout}",
            getting.total_calls,
            2,
            "",
            goal=measured_equals(1 if one_read else 2, ""),
            measured_note=getting.describe_calls(),
            baseline_note="flat: Query + GetItem",
        ),
        Figure(
            f"set round trips, {layout}",
            setting.total_calls,
            2,
            "",
            goal=measured_at_most(2),
            measured_note=setting.describe_calls(),
            baseline_note="a read and a write",
        ),
    ]


def _set_figures(local: DynamoDBLocal, zae: ZaeLimiter, samples: int) -> list[Figure]:
    client = functions_client(local.endpoint)
    meter = DynamoDBMeter(client)
    store = service.store_over(client, zae.table_name)
    warm_up(store)
    meter.take()
    our_set(store)
    one_set = meter.take()
    calls = _CallTimer(client)
    timed = alternate_sets(zae, {local.endpoint: store}, samples)[local.endpoint]
    ours, theirs, calls_per_set = timed.ours, timed.theirs, timed.their_calls_per_set
    our_calls = calls.describe()
    transaction, put = _transaction_overhead(client, zae.table_name, samples)
    return [
        Figure(
            "set round trips, namespaced (0.17 table)",
            one_set.total_calls,
            calls_per_set,
            "",
            goal=measured_at_most(2),
            measured_note=one_set.describe_calls(),
            baseline_note="zae-limiter 0.17.0, not atomic",
        ),
        Figure(
            "set median latency, namespaced (0.17 table)",
            median(ours),
            median(theirs),
            "ms",
            goal=ratio_at_most(1.0),
            measured_note="one atomic transaction, with its audit event: " + our_calls,
            baseline_note=f"zae-limiter 0.17.0, n={len(theirs)}",
        ),
        Figure(
            "one write as a 1-item transaction, DynamoDB Local",
            transaction,
            put,
            "ms",
            measured_note="TransactWriteItems",
            baseline_note="the same PutItem",
        ),
    ]


class _CallTimer:
    """The median time of each DynamoDB operation a client calls, from its call to its answer."""

    def __init__(self, client: Any) -> None:
        self._started: dict[str, float] = {}
        self._timings: dict[str, list[float]] = {}
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self._started[model.name] = time.perf_counter()

    def _after(self, model: Any, **_: Any) -> None:
        elapsed = (time.perf_counter() - self._started.pop(model.name)) * 1000
        self._timings.setdefault(model.name, []).append(elapsed)

    def describe(self) -> str:
        return " + ".join(
            f"{operation} {median(timings):.2f} ms" for operation, timings in self._timings.items()
        )


def _transaction_overhead(client: Any, table: str, samples: int) -> tuple[float, float]:
    """Median latency of one Put as a transaction and as a PutItem, alternating, same client.

    What DynamoDB Local adds to a write for committing it as a transaction: it runs each item
    through its single-item path under table locks, so an atomic set of N items costs about a
    transaction's overhead more than N plain writes, which N - 1 saved round trips only offset.
    """

    def item() -> dict[str, Any]:
        return {
            schema.PARTITION_KEY: {"S": "bench-transaction-overhead"},
            schema.SORT_KEY: {"S": uuid.uuid4().hex},
        }

    in_transaction: list[float] = []
    alone: list[float] = []
    for _ in range(samples):
        in_transaction.append(
            elapsed_ms(
                lambda: client.transact_write_items(
                    TransactItems=[{"Put": {"TableName": table, "Item": item()}}]
                )
            )
        )
        alone.append(elapsed_ms(lambda: client.put_item(TableName=table, Item=item())))
    return median(in_transaction), median(alone)


def _one_namespace(local: DynamoDBLocal, size: int) -> list[Figure]:
    client = local.client()
    zae = zae_limiter_table(local, f"ZAEL-bench-{size}")
    namespaces = {
        name: service.store_over(client, zae.table_name, name).namespace
        for name in (schema.DEFAULT_NAMESPACE, NAMESPACE)
    }
    load(local.client, zae.table_name, _namespaced_noise(size, list(namespaces.values())))
    metered = local.client()
    meter = DynamoDBMeter(metered)
    reconciler = RegistryReconciler(service.table_over(metered, zae.table_name))
    scan = _scan_read_units(metered, meter, zae.table_name)
    verified = reconciler.run(BackfillRequest(Mode.VERIFY, namespace=NAMESPACE))
    verify = meter.take()
    # Lose the namespace's registry, as after a crash between zae-limiter's two writes.
    registry = schema.registry_key(namespaces[NAMESPACE].prefix)
    client.delete_item(TableName=zae.table_name, Key=registry)
    backfilled = reconciler.run(BackfillRequest(Mode.BACKFILL, namespace=NAMESPACE))
    backfill = meter.take()
    found = len(RESOURCES)
    exact: Goal = Goal(
        f"≥ {MIN_NAMESPACE_SAVING}x less",
        lambda f: (f.ratio or 0) >= MIN_NAMESPACE_SAVING,
    )
    return [
        Figure(
            f"verify read units, one namespace of {size:,} items",
            verify.read_units,
            scan,
            "RCU",
            Comparison.SAVING,
            goal=_and(exact, verified.total("resources_found") == found and not verified.drift),
            measured_note=verify.describe_calls(),
            baseline_note="full Scan",
        ),
        Figure(
            f"backfill read units, one namespace of {size:,} items (registry lost)",
            backfill.read_units,
            scan,
            "RCU",
            Comparison.SAVING,
            goal=_and(exact, backfilled.total("added") == found),
            measured_note=backfill.describe_calls(),
            baseline_note="full Scan",
        ),
    ]


def _namespaced_noise(size: int, namespaces: list[Namespace]) -> Iterator[dict[str, Any]]:
    """Items that are not ours, spread over the namespaces, keyed as 0.17 keys them."""
    for index, item in enumerate(other_items(size)):
        namespace = namespaces[index % len(namespaces)]
        pk = f"{namespace.prefix}{item[schema.PARTITION_KEY]['S']}"
        yield {
            **item,
            schema.PARTITION_KEY: {"S": pk},
            schema.GSI4_PARTITION_KEY: {"S": namespace.namespace_id or ""},
            schema.GSI4_SORT_KEY: {"S": pk},
        }


def _scan_read_units(client: Any, meter: DynamoDBMeter, table: str) -> float:
    meter.take()
    scan: dict[str, Any] = {"TableName": table, "ProjectionExpression": "#pk"}
    scan["ExpressionAttributeNames"] = {"#pk": schema.PARTITION_KEY}
    all_items(client.scan, **scan)
    return meter.take().read_units


def measured_at_most(value: float) -> Goal:
    return Goal(f"≤ {value:g}", lambda figure: figure.measured <= value)


def _and(goal: Goal, holds: bool) -> Goal:
    """The goal, and a fact the run checked (the reconciler found what is there)."""
    return Goal(goal.text, lambda figure: holds and goal.check(figure))
