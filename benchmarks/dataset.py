"""The tables the benchmarks read: many items that are not ours, and ten resources' limits.

The other items mimic what shares the table in production (zae-limiter's entities, token buckets,
audit events and usage snapshots) with small, realistic attributes, so a Scan pays for them the
way it would in AWS. Items are generated from a seed, so every run measures the same table.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchmarks.item_size import item_size
from devtools.dynamodb_local import create_table
from resource_registry import schema, service
from resource_registry.model import Limit, Number

Item = dict[str, Any]

RESOURCES = tuple(f"model-{index:02}" for index in range(10))
LIMITS = (
    Limit("rpm", capacity=500, burst=600, refill_amount=500, refill_period_seconds=60),
    Limit("tpm", capacity=90_000, burst=90_000, refill_amount=90_000, refill_period_seconds=60),
    Limit("rpd", capacity=10_000, burst=10_000, refill_amount=10_000, refill_period_seconds=86_400),
)
BATCH_SIZE = 25  # BatchWriteItem's maximum
LOADER_THREADS = 8
SEED = 20_240_601
TIERS = ("free", "team", "business", "enterprise")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
ACTIONS = ("limits_set", "limits_deleted", "entity_created", "entity_updated")


@dataclass(frozen=True)
class LoadedTable:
    """A benchmark table: how many items it holds, their bytes, and how long loading them took."""

    name: str
    items: int
    item_bytes: int
    load_seconds: float


def build_table(
    client_factory: Callable[[], Any], name: str, size: int, *, legacy: bool
) -> LoadedTable:
    """A table of ``size`` items, ten resources' limit items among them.

    ``legacy`` writes the limits raw, as zae-limiter did, with no registry; otherwise they are
    written through the store, so the registry exists.
    """
    client = client_factory()
    create_table(client, name)
    items: Iterable[Item] = other_items(size - limit_item_count())
    if legacy:
        items = itertools.chain(items, legacy_limit_items())
    sizes: list[int] = []
    start = time.perf_counter()
    loaded = load(client_factory, name, _tallied(items, sizes))
    seconds = time.perf_counter() - start
    if not legacy:
        register_resources(client, name)
        loaded += limit_item_count()
    return LoadedTable(name, loaded, sum(sizes), seconds)


def limit_item_count() -> int:
    return len(RESOURCES) * len(LIMITS)


def other_items(count: int, seed: int = SEED) -> Iterator[Item]:
    """``count`` items that are not ours, mixed in the proportions a busy rate limiter has."""
    rng = random.Random(seed)
    builders = (_entity, _bucket, _bucket, _audit_event, _usage_snapshot)
    for index in range(count):
        yield builders[index % len(builders)](rng, index)


def legacy_limit_items(resources: Sequence[str] = RESOURCES) -> list[Item]:
    """Limit items as zae-limiter wrote them before the registry: no version item, no registry."""
    return [
        {
            **schema.limit_key(resource, limit.name),
            schema.ATTR_RESOURCE: _s(resource),
            schema.ATTR_LIMIT_NAME: _s(limit.name),
            schema.ATTR_CAPACITY: _n(limit.capacity),
            schema.ATTR_BURST: _n(limit.burst),
            schema.ATTR_REFILL_AMOUNT: _n(limit.refill_amount),
            schema.ATTR_REFILL_PERIOD_SECONDS: _n(limit.refill_period_seconds),
        }
        for resource in resources
        for limit in LIMITS
    ]


def load(client_factory: Callable[[], Any], table: str, items: Iterable[Item]) -> int:
    """Write ``items`` with BatchWriteItem, 25 a call from several threads; returns the count.

    Each thread has its own client, so the threads do not queue on one connection pool.
    """
    local = threading.local()

    def write_batch(batch: list[Item]) -> int:
        if not hasattr(local, "client"):
            local.client = client_factory()
        _write_batch(local.client, table, batch)
        return len(batch)

    with ThreadPoolExecutor(LOADER_THREADS) as pool:
        return sum(pool.map(write_batch, _batches(items, BATCH_SIZE)))


def register_resources(client: Any, table: str, resources: Sequence[str] = RESOURCES) -> None:
    """Give each resource its limits through the store, so the registry exists and is exact."""
    store = service.store_over(client, table)
    for resource in resources:
        store.set_defaults(resource, LIMITS)


def _write_batch(client: Any, table: str, batch: list[Item]) -> None:
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch]
    while requests:
        response = client.batch_write_item(RequestItems={table: requests})
        requests = response.get("UnprocessedItems", {}).get(table, [])


def _tallied(items: Iterable[Item], sizes: list[int]) -> Iterator[Item]:
    for item in items:
        sizes.append(item_size(item))
        yield item


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _entity(rng: random.Random, index: int) -> Item:
    entity = f"user-{index:07}"
    return {
        "PK": _s(f"ENTITY#{entity}"),
        "SK": _s("#META"),
        "entity_id": _s(entity),
        "name": _s(f"Customer {index}"),
        "parent_id": _s(f"org-{rng.randrange(5000):05}"),
        "created_at": _s(_timestamp(rng)),
        "metadata": {"M": {"tier": _s(rng.choice(TIERS)), "region": _s(rng.choice(REGIONS))}},
    }


def _bucket(rng: random.Random, index: int) -> Item:
    entity, resource = f"user-{index:07}", rng.choice(RESOURCES)
    limit = rng.choice(LIMITS)
    return {
        "PK": _s(f"BUCKET#{entity}#{resource}"),
        "SK": _s(f"#BUCKET#{limit.name}"),
        "entity_id": _s(entity),
        "resource": _s(resource),
        "tokens_milli": _n(rng.randrange(int(limit.burst) * 1000)),
        "capacity_milli": _n(limit.capacity * 1000),
        "burst_milli": _n(limit.burst * 1000),
        "refill_period_ms": _n(limit.refill_period_seconds * 1000),
        "last_refill_ms": _n(1_764_000_000_000 + rng.randrange(10**9)),
        "ttl": _n(1_764_000_000 + rng.randrange(10**6)),
    }


def _audit_event(rng: random.Random, index: int) -> Item:
    entity = f"user-{index:07}"
    return {
        "PK": _s(f"AUDIT#{entity}"),
        "SK": _s(f"#AUDIT#{_timestamp(rng)}#{rng.getrandbits(32):08x}"),
        "action": _s(rng.choice(ACTIONS)),
        "principal": _s(f"arn:aws:iam::123456789012:role/operator-{rng.randrange(40)}"),
        "details": {
            "M": {
                "resource": _s(rng.choice(RESOURCES)),
                "old_capacity": _n(rng.randrange(1, 10**5)),
                "new_capacity": _n(rng.randrange(1, 10**5)),
            }
        },
        "ttl": _n(1_764_000_000 + rng.randrange(10**7)),
    }


def _usage_snapshot(rng: random.Random, index: int) -> Item:
    entity, resource = f"user-{index:07}", rng.choice(RESOURCES)
    return {
        "PK": _s(f"USAGE#{entity}#{resource}"),
        "SK": _s(f"#USAGE#hour#2026-11-{rng.randrange(1, 29):02}T{rng.randrange(24):02}"),
        "entity_id": _s(entity),
        "resource": _s(resource),
        "requests": _n(rng.randrange(10**5)),
        "tokens": _n(rng.randrange(10**8)),
        "ttl": _n(1_764_000_000 + rng.randrange(10**7)),
    }


def _timestamp(rng: random.Random) -> str:
    return (
        f"2026-{rng.randrange(1, 13):02}-{rng.randrange(1, 29):02}T"
        f"{rng.randrange(24):02}:{rng.randrange(60):02}:{rng.randrange(60):02}Z"
    )


def _s(text: str) -> dict[str, str]:
    return {"S": text}


def _n(number: Number) -> dict[str, str]:
    return {"N": str(number)}
