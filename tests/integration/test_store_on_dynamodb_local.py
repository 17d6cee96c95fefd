"""The store against a real DynamoDB Local: atomic writes, no lost updates, a full registry."""

from __future__ import annotations

import contextlib
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from resource_registry import schema
from resource_registry.errors import (
    ConcurrentUpdateError,
    RegistryFullError,
    ResourceNotFoundError,
)
from resource_registry.model import Limit
from resource_registry.repairs import RegistryRepairs
from resource_registry.retry import RetryPolicy
from resource_registry.store import RegistryStore
from tests.conftest import Table

pytestmark = pytest.mark.integration
NO_WAIT = RetryPolicy(max_attempts=3, sleep=lambda _: None)


def limits_of(writer: str, count: int = 3) -> list[Limit]:
    return [Limit(f"{writer}-{index}", 10 + index, 10 + index, 10, 60) for index in range(count)]


def fail_every_transaction(client: Any) -> None:
    """Append a check that cannot hold to every transaction: DynamoDB must then apply none of it."""

    def add_failing_check(params: dict[str, Any], **_: Any) -> None:
        table = params["TransactItems"][0][next(iter(params["TransactItems"][0]))]["TableName"]
        params["TransactItems"].append(
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"PK": {"S": "FAULT#"}, "SK": {"S": "#INJECTED"}},
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
        )

    client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", add_failing_check
    )


def test_a_failed_set_transaction_leaves_the_old_state(local_table: Table) -> None:
    local_table.store.set_defaults("gpt-4", limits_of("old", 3))
    before = local_table.items()
    fail_every_transaction(local_table.client)
    store = RegistryStore(local_table.served, retry_policy=NO_WAIT)
    with pytest.raises(ConcurrentUpdateError):
        store.set_defaults("gpt-4", limits_of("new", 2))
    with pytest.raises(ConcurrentUpdateError):
        store.set_defaults("claude-3", limits_of("new", 2))
    assert local_table.items() == before


def test_a_failed_delete_transaction_leaves_the_old_state(local_table: Table) -> None:
    local_table.store.set_defaults("gpt-4", limits_of("old", 3))
    before = local_table.items()
    fail_every_transaction(local_table.client)
    with pytest.raises(ConcurrentUpdateError):
        RegistryStore(local_table.served, retry_policy=NO_WAIT).delete_defaults("gpt-4")
    assert local_table.items() == before


def test_racing_writers_on_one_resource_leave_exactly_one_writers_set(local_table: Table) -> None:
    writers = [f"w{index}" for index in range(8)]
    start = threading.Barrier(len(writers))

    def write(writer: str) -> int:
        start.wait()
        wins = 0
        for round_number in range(5):
            # Losing every bounded retry is a documented answer (409), not a failure.
            with contextlib.suppress(ConcurrentUpdateError):
                local_table.store.set_defaults("shared", limits_of(writer, 1 + round_number % 4))
                wins += 1
        return wins

    with ThreadPoolExecutor(len(writers)) as pool:
        wins = sum(pool.map(write, writers))
    assert wins > 0
    limits = local_table.store.get_defaults("shared").limits
    owners = {limit.name.split("-")[0] for limit in limits}
    assert len(owners) == 1, f"limits mix writers {owners}"
    # Every committed write, and only those, moved the version on: none was lost or doubled.
    assert local_table.store.get_defaults("shared").version == wins
    assert local_table.registry() == {"shared"}


def test_concurrent_sets_and_deletes_keep_the_registry_exact(local_table: Table) -> None:
    names = [f"model-{index}" for index in range(5)]

    def churn(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            name = rng.choice(names)
            # A 404, or a 409 once the bounded retries run out, is a documented answer.
            with contextlib.suppress(ResourceNotFoundError, ConcurrentUpdateError):
                if rng.random() < 0.6:
                    local_table.store.set_defaults(name, limits_of(f"s{seed}", rng.randint(1, 3)))
                else:
                    local_table.store.delete_defaults(name)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(churn, range(6)))
    assert local_table.registry() == local_table.resources_with_limits()


def test_a_full_registry_refuses_the_next_name_with_a_4xx_error_and_changes_nothing(
    local_table: Table,
) -> None:
    # 6,399 names of 64 characters plus the keys and the attribute name come to 409,566 bytes:
    # within 34 bytes of the 400 KB (409,600 byte) item limit, so one more name cannot fit.
    filler = [f"r{index:05}{'x' * 58}" for index in range(6_399)]
    local_table.put_raw({**schema.registry_key(), "resources": {"SS": filler}})
    before = local_table.items()
    with pytest.raises(RegistryFullError, match="400 KB"):
        local_table.store.set_defaults("y" * 64, limits_of("w"))
    assert local_table.items() == before


def test_a_resource_with_more_limits_than_one_transaction_takes_can_be_deleted(
    local_table: Table,
) -> None:
    # Another program wrote 150 limits; deleting them takes chunks, and the registry entry goes
    # with the last one, so it is exact between chunks too.
    for index in range(150):
        local_table.put_raw(
            {
                **schema.limit_key("crowded", f"l{index:03}"),
                "capacity": {"N": "1"},
                "refill_period_seconds": {"N": "1"},
            }
        )
    RegistryRepairs(local_table.served).register_existing({"crowded": "l000"})
    between_chunks: list[bool] = []
    local_table.client.meta.events.register(
        "after-call.dynamodb.TransactWriteItems",
        lambda **_: between_chunks.append(
            ("crowded" in local_table.registry()) == bool(local_table.resources_with_limits())
        ),
    )
    local_table.store.delete_defaults("crowded")
    assert len(between_chunks) == 2
    assert all(between_chunks)
    assert local_table.resources_with_limits() == set()
    assert local_table.registry() == set()
    # One audit event, with the last chunk: the delete as a whole.
    events = [i for i in local_table.items() if i["PK"]["S"] == schema.audit_pk("crowded")]
    assert [event["action"]["S"] for event in events] == ["limits_deleted"]
