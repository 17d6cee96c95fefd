"""The registry store on moto: every write keeps the registry equal to the resources with limits."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.call_counter import CallCounter
from resource_registry import schema
from resource_registry.errors import (
    ConcurrentUpdateError,
    PreconditionFailedError,
    ResourceChangingError,
    ResourceNotFoundError,
)
from resource_registry.model import Limit, Precondition
from resource_registry.retry import RetryPolicy
from resource_registry.store import RegistryStore
from tests.conftest import Table

RPM = Limit("rpm", 100, 100, 100, 60)
TPM = Limit("tpm", 10_000, 20_000, 10_000, 60)


def test_set_adds_the_resource_to_the_registry(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [RPM])
    assert moto_table.registry() == {"gpt-4"}


def test_set_writes_one_limit_item_per_limit_in_the_contract_layout(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [TPM])
    item = moto_table.client.get_item(
        TableName=moto_table.name, Key=schema.limit_key("gpt-4", "tpm")
    )["Item"]
    assert item == {
        "PK": {"S": "RESOURCE#gpt-4"},
        "SK": {"S": "#LIMIT#tpm"},
        "resource": {"S": "gpt-4"},
        "limit_name": {"S": "tpm"},
        "capacity": {"N": "10000"},
        "burst": {"N": "20000"},
        "refill_amount": {"N": "10000"},
        "refill_period_seconds": {"N": "60"},
        "config_version": {"N": "1"},
    }


def test_set_replaces_the_whole_set_of_limits(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [RPM, TPM])
    moto_table.store.set_defaults("gpt-4", [TPM])
    defaults = moto_table.store.get_defaults("gpt-4")
    assert defaults.limits == (TPM,)
    assert defaults.version == 2


def test_delete_removes_every_limit_and_the_registry_entry(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [RPM, TPM])
    moto_table.store.set_defaults("claude-3", [RPM])
    moto_table.store.delete_defaults("gpt-4")
    assert moto_table.registry() == {"claude-3"}
    assert moto_table.resources_with_limits() == {"claude-3"}


def test_delete_of_a_resource_without_defaults_is_not_found(moto_table: Table) -> None:
    with pytest.raises(ResourceNotFoundError):
        moto_table.store.delete_defaults("gpt-4")


def test_list_returns_the_registry_names_sorted(moto_table: Table) -> None:
    for name in ["dall-e-3", "claude-3", "gpt-4"]:
        moto_table.store.set_defaults(name, [RPM])
    assert moto_table.store.list_resources() == ["claude-3", "dall-e-3", "gpt-4"]


def test_list_reads_the_registry_record_not_the_limit_items(moto_table: Table) -> None:
    # A registry written by hand, with no limit items at all: list must report exactly it.
    moto_table.client.put_item(
        TableName=moto_table.name,
        Item={**schema.registry_key(), "resources": {"SS": ["zeta", "alpha"]}},
    )
    assert moto_table.store.list_resources() == ["alpha", "zeta"]


def test_list_of_an_empty_table_is_empty(moto_table: Table) -> None:
    assert moto_table.store.list_resources() == []


def test_list_after_the_last_delete_is_empty(moto_table: Table) -> None:
    # DynamoDB drops a set attribute when its last element is deleted; the item itself remains.
    moto_table.store.set_defaults("gpt-4", [RPM])
    moto_table.store.delete_defaults("gpt-4")
    assert moto_table.store.list_resources() == []


def test_list_is_one_get_item_and_never_a_scan(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [RPM])
    counter = CallCounter(moto_table.client)
    moto_table.store.list_resources(consistent=True)
    assert counter.calls == {"GetItem": 1}


def test_set_and_delete_write_in_one_transaction_each(moto_table: Table) -> None:
    counter = CallCounter(moto_table.client)
    moto_table.store.set_defaults("gpt-4", [RPM, TPM])
    moto_table.store.delete_defaults("gpt-4")
    assert counter.calls == {"Query": 2, "TransactWriteItems": 2}


def test_a_stale_expected_version_is_refused_and_changes_nothing(moto_table: Table) -> None:
    stale = moto_table.store.set_defaults("gpt-4", [RPM]).etag
    moto_table.store.set_defaults("gpt-4", [TPM])
    before = moto_table.items()
    with pytest.raises(PreconditionFailedError):
        moto_table.store.set_defaults("gpt-4", [RPM], Precondition(frozenset({stale})))
    with pytest.raises(PreconditionFailedError):
        moto_table.store.delete_defaults("gpt-4", Precondition(frozenset({stale})))
    assert moto_table.items() == before


def test_the_current_expected_version_is_accepted(moto_table: Table) -> None:
    etag = moto_table.store.set_defaults("gpt-4", [RPM]).etag
    assert (
        moto_table.store.set_defaults("gpt-4", [TPM], Precondition(frozenset({etag}))).version == 2
    )


def test_limits_written_by_another_program_are_at_version_zero(moto_table: Table) -> None:
    # zae-limiter writes limit items without a version item.
    moto_table.put_raw(
        {
            **schema.limit_key("legacy", "rpm"),
            "resource": {"S": "legacy"},
            "limit_name": {"S": "rpm"},
            "capacity": {"N": "5"},
            "refill_period_seconds": {"N": "1"},
        }
    )
    defaults = moto_table.store.get_defaults("legacy")
    assert defaults.version == 0
    assert defaults.limits == (Limit("rpm", 5, 5, 5, 1),)
    moto_table.store.set_defaults("legacy", [TPM], Precondition(frozenset({defaults.etag})))
    assert moto_table.registry() == {"legacy"}
    assert moto_table.store.get_defaults("legacy").limits == (TPM,)


def test_versions_keep_counting_across_a_delete(moto_table: Table) -> None:
    # An ETag from before a delete must not match a later set (no ABA).
    moto_table.store.set_defaults("gpt-4", [RPM])
    moto_table.store.delete_defaults("gpt-4")
    assert moto_table.store.set_defaults("gpt-4", [RPM]).version == 3


def test_a_get_that_a_commit_lands_in_the_middle_of_reads_again(moto_table: Table) -> None:
    # A Query is only read-committed against transactions: a commit landing while it reads can
    # leave it with some limits from before and some from after.
    moto_table.store.set_defaults("gpt-4", [RPM])
    queries: list[str] = []

    def commit_during_the_first_read(**_: Any) -> None:
        queries.append("Query")
        if len(queries) == 1:
            moto_table.store.set_defaults("gpt-4", [TPM])  # its own Query is the second

    moto_table.client.meta.events.register(
        "after-call.dynamodb.Query", commit_during_the_first_read
    )
    defaults = moto_table.store.get_defaults("gpt-4")
    assert (defaults.limits, defaults.version) == ((TPM,), 2)
    assert len(queries) == 3  # the torn read, the set's read, the read again


def test_a_get_of_a_resource_that_never_stops_changing_gives_up(moto_table: Table) -> None:
    moto_table.store.set_defaults("gpt-4", [RPM])
    moto_table.client.meta.events.register(
        "after-call.dynamodb.Query",
        # Every read sees a version the version item never confirms.
        lambda parsed, **_: parsed["Items"].append(
            {**schema.version_key("gpt-4"), "version": {"N": "99"}}
        ),
    )
    with pytest.raises(ResourceChangingError):
        moto_table.store.get_defaults("gpt-4")


def test_retries_stop_once_the_time_budget_is_spent(moto_table: Table) -> None:
    # Every transaction loses; each pause costs 3 s of a 4 s budget, so the third try never starts.
    now = [0.0]
    policy = RetryPolicy(sleep=lambda _: now.__setitem__(0, now[0] + 3.0), clock=lambda: now[0])
    store = RegistryStore(moto_table.served, retry_policy=policy)
    counter = CallCounter(moto_table.client)
    moto_table.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: params["TransactItems"].append(
            {
                "ConditionCheck": {
                    "TableName": moto_table.name,
                    "Key": {"PK": {"S": "FAULT#"}, "SK": {"S": "#INJECTED"}},
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
        ),
    )
    with pytest.raises(ConcurrentUpdateError):
        store.set_defaults("gpt-4", [RPM])
    assert counter.calls["TransactWriteItems"] == 2
    assert moto_table.items() == []
