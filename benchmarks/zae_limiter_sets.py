"""Our set next to zae-limiter 0.17.0's own, on a table it made: what sections 8 and 9 share.

Ours is RegistryStore.set_defaults in this process, on the client the functions make
(resource_registry.clients.CLIENT_CONFIG); theirs is zae-limiter 0.17.0's
Repository.set_resource_defaults, timed around the library call inside its own process (its
probe, in its own virtualenv), so neither process start nor the JSON exchange is timed. Both set
the same three limits on the same table, in rounds that alternate between the two.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3

from benchmarks.dataset import LIMITS, RESOURCES
from benchmarks.environment import REGION
from benchmarks.stats import elapsed_ms
from devtools.dynamodb_local import LOCAL_CREDENTIALS, DynamoDBLocal
from resource_registry import schema
from resource_registry.clients import CLIENT_CONFIG
from resource_registry.layouts import NAMESPACED
from resource_registry.model import Limit
from resource_registry.store import RegistryStore
from tests.support.zae_limiter import ZaeLimiter, result_of

SET_WARMUP = 30
SET_ROUNDS = 5
NAMESPACE = "tenant-a"
OURS, THEIRS = "ours", "theirs"  # the resource each side sets, over and over
# zae-limiter 0.17 keeps no burst: the benchmark's limits with their burst at capacity, for us
# and, as JSON, for zae-limiter.
NO_BURST = tuple(
    Limit(
        name=limit.name,
        capacity=limit.capacity,
        burst=limit.capacity,
        refill_amount=limit.refill_amount,
        refill_period_seconds=limit.refill_period_seconds,
    )
    for limit in LIMITS
)
SET_LIMITS = [NAMESPACED.shown(limit) for limit in NO_BURST]


@dataclass
class SetTimings:
    """Milliseconds per set, ours and theirs, over one endpoint."""

    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    # The DynamoDB calls one of their sets makes, as their own client counts them.
    their_calls_per_set: float = 0.0


def zae_limiter_table(local: DynamoDBLocal, name: str) -> ZaeLimiter:
    """A table zae-limiter 0.17.0 made and opened, with ten resources in each of two namespaces."""
    zae = ZaeLimiter("0.17.0", local.endpoint, f"{name}-{uuid.uuid4().hex[:8]}")
    requests = [zae.request("create_table"), zae.request("open")]
    requests.append(zae.request("register_namespace", name=NAMESPACE))
    requests += [
        zae.request("set_resource_defaults", resource=resource, limits=SET_LIMITS, namespace=name)
        for name in (schema.DEFAULT_NAMESPACE, NAMESPACE)
        for resource in RESOURCES
    ]
    for answer in zae.many(requests):
        if "error" in answer:
            raise RuntimeError(f"zae-limiter 0.17.0 refused to set up the table: {answer}")
    return zae


def functions_client(endpoint: str) -> Any:
    """The client the functions make (resource_registry.clients), pointed at ``endpoint``."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        config=CLIENT_CONFIG,
        **LOCAL_CREDENTIALS,
    )


def warm_up(store: RegistryStore) -> None:
    """Untimed sets, so the timed ones find the store's caches and connection made."""
    for _ in range(SET_WARMUP):
        our_set(store)


def our_set(store: RegistryStore) -> None:
    store.set_defaults(OURS, NO_BURST)


def alternate_sets(
    zae: ZaeLimiter, stores: Mapping[str, RegistryStore], samples: int
) -> dict[str, SetTimings]:
    """``samples`` sets each, ours and theirs, over each endpoint (``stores``' keys).

    Each round runs their sets over every endpoint in one probe process, then ours, so a drift in
    the machine's speed hits both alike. Warm ``stores`` up first.
    """
    per_round = samples // SET_ROUNDS
    timings = {endpoint: SetTimings() for endpoint in stores}
    for _ in range(SET_ROUNDS):
        requests = [
            zae.request(
                "time_set_resource_defaults",
                endpoint_url=endpoint,
                resource=THEIRS,
                limits=SET_LIMITS,
                count=per_round,
                warmup=SET_WARMUP // SET_ROUNDS,
            )
            for endpoint in stores
        ]
        for endpoint, answer in zip(stores, zae.many(requests), strict=True):
            timed = result_of(answer)
            timings[endpoint].theirs += timed["timings_ms"]
            timings[endpoint].their_calls_per_set = timed["calls_per_set"]
        for endpoint, store in stores.items():
            set_once = partial(our_set, store)
            timings[endpoint].ours += [elapsed_ms(set_once) for _ in range(per_round)]
    return timings
