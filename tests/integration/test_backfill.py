"""Backfill, verify and prune against DynamoDB Local: exact, idempotent, resumable, race-safe."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, add_namespace, create_layout_table
from handlers import handle_backfill
from resource_registry import layouts, schema, service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.backfill.summary import SAMPLE_SIZE
from resource_registry.errors import InvalidContinuationError, InvalidInputError
from resource_registry.model import Limit
from resource_registry.store import RegistryStore
from resource_registry.table import Table as ServedTable
from tests.conftest import Table

pytestmark = pytest.mark.integration
LEGACY = [f"legacy-{index:02}" for index in range(12)]
RPM = Limit("rpm", 10, 10, 10, 60)


def write_legacy_limits(
    table: Table, resource: str, limit_names: tuple[str, ...] = ("rpm", "tpm")
) -> None:
    """Limit items as zae-limiter writes them: no version item, no registry entry."""
    for limit_name in limit_names:
        table.put_raw(
            {
                **schema.limit_key(resource, limit_name),
                "resource": {"S": resource},
                "limit_name": {"S": limit_name},
                "capacity": {"N": "10"},
                "refill_period_seconds": {"N": "60"},
            }
        )


def write_noise(table: Table, count: int) -> None:
    """Items that are not ours: entities, buckets, audit events, usage snapshots."""
    for index in range(count):
        prefix = ["ENTITY#", "BUCKET#", "AUDIT#", "USAGE#"][index % 4]
        table.put_raw(
            {"PK": {"S": f"{prefix}{index}"}, "SK": {"S": "#META"}, "data": {"S": "x" * 50}}
        )


@pytest.fixture
def legacy_table(local_table: Table) -> Table:
    for resource in LEGACY:
        write_legacy_limits(local_table, resource)
    write_noise(local_table, 200)
    return local_table


def run(table: Table, mode: Mode, **options: Any) -> Any:
    reconciler = RegistryReconciler(table.served, page_size=options.pop("page_size", None))
    return reconciler.run(BackfillRequest(mode, **options))


def test_backfill_registers_every_resource_with_limits_and_nothing_else(
    legacy_table: Table,
) -> None:
    summary = run(legacy_table, Mode.BACKFILL)
    assert legacy_table.registry() == set(LEGACY)
    assert summary.added == LEGACY
    assert summary.resources_found == LEGACY
    assert summary.items_read == len(legacy_table.items()) - 1  # all but the registry it wrote
    assert summary.capacity_consumed > 0
    assert summary.continuation is None


@pytest.mark.parametrize("name", ["a b", "9lives", "x" * 65, "a#b"])
def test_backfill_counts_names_the_api_cannot_serve_and_never_registers_them(
    legacy_table: Table, name: str
) -> None:
    # Given limits another program wrote under a name zae-limiter's rule refuses
    write_legacy_limits(legacy_table, name)
    # When backfill and then verify run
    summary = run(legacy_table, Mode.BACKFILL)
    verified = run(legacy_table, Mode.VERIFY)
    # Then the name is not registered (the API could neither read nor delete it) but is counted,
    # named, and is drift until someone renames or deletes it
    assert legacy_table.registry() == set(LEGACY)
    assert name not in summary.resources_found
    assert summary.names("unservable") == [name]
    assert verified.drift.unservable == [name]
    assert verified.to_dict()["drift"] == 1
    assert verified.to_dict()["sample"]["unservable"] == [name]


def test_backfill_is_idempotent(legacy_table: Table) -> None:
    run(legacy_table, Mode.BACKFILL)
    before = legacy_table.items()
    again = run(legacy_table, Mode.BACKFILL)
    assert again.added == []
    assert legacy_table.items() == before


def test_verify_reports_drift_both_ways_and_changes_nothing(legacy_table: Table) -> None:
    legacy_table.store.set_defaults("registered", [RPM])
    legacy_table.client.update_item(
        TableName=legacy_table.name,
        Key=schema.registry_key(),
        UpdateExpression="ADD resources :ghost",
        ExpressionAttributeValues={":ghost": {"SS": ["ghost"]}},
    )
    before = legacy_table.items()
    summary = run(legacy_table, Mode.VERIFY)
    assert summary.drift.unregistered == LEGACY
    assert summary.drift.registered_without_defaults == ["ghost"]
    assert (summary.added, summary.removed) == ([], [])
    assert legacy_table.items() == before


def test_verify_after_backfill_finds_no_drift(legacy_table: Table) -> None:
    run(legacy_table, Mode.BACKFILL)
    summary = run(legacy_table, Mode.VERIFY)
    assert summary.drift.unregistered == summary.drift.registered_without_defaults == []


def test_prune_removes_only_names_without_limits(legacy_table: Table) -> None:
    legacy_table.store.set_defaults("kept", [RPM])
    legacy_table.client.update_item(
        TableName=legacy_table.name,
        Key=schema.registry_key(),
        UpdateExpression="ADD resources :ghosts",
        ExpressionAttributeValues={":ghosts": {"SS": ["ghost-1", "ghost-2"]}},
    )
    summary = run(legacy_table, Mode.PRUNE)
    assert summary.removed == ["ghost-1", "ghost-2"]
    assert legacy_table.registry() == {"kept"}
    assert run(legacy_table, Mode.PRUNE).removed == []


def test_resumed_runs_find_every_resource_exactly_once(legacy_table: Table) -> None:
    reconciler = RegistryReconciler(legacy_table.served, safety_margin_millis=1, page_size=7)
    request = BackfillRequest(Mode.BACKFILL)
    found: list[str] = []
    invocations = 0
    while True:
        summary = reconciler.run(request, remaining_millis=lambda: 0)  # out of time after each page
        invocations += 1
        found += summary.resources_found
        if summary.continuation is None:
            break
        request = BackfillRequest.from_event(
            {
                "mode": "backfill",
                "segment": 0,
                "total_segments": 1,
                "continuation": summary.continuation,
            }
        )
    assert invocations > 10
    assert sorted(found) == LEGACY
    assert legacy_table.registry() == set(LEGACY)


def test_the_union_of_segments_is_one_full_scan(legacy_table: Table) -> None:
    full = run(legacy_table, Mode.VERIFY)
    parts = [run(legacy_table, Mode.VERIFY, segment=index, total_segments=4) for index in range(4)]
    found = [name for part in parts for name in part.resources_found]
    assert sorted(found) == full.resources_found == LEGACY
    assert sum(part.items_read for part in parts) == full.items_read


def test_backfill_does_not_resurrect_a_resource_deleted_during_the_scan(
    legacy_table: Table, dynamodb_local: DynamoDBLocal
) -> None:
    # Outside the hooks' reach: a client of its own.
    deleter = RegistryStore(ServedTable(dynamodb_local.client(), legacy_table.name, layouts.FLAT))
    victim = LEGACY[0]

    def delete_after_the_scan(**_: Any) -> None:
        if deleter.read_resource(victim).limits:
            deleter.delete_defaults(victim)

    legacy_table.client.meta.events.register("after-call.dynamodb.Scan", delete_after_the_scan)
    summary = run(legacy_table, Mode.BACKFILL)
    assert victim in summary.resources_found
    assert victim not in summary.added
    assert legacy_table.registry() == set(LEGACY[1:])
    assert legacy_table.registry() == legacy_table.resources_with_limits()


def test_prune_never_removes_a_resource_that_a_racing_set_gave_defaults(
    local_table: Table, dynamodb_local: DynamoDBLocal
) -> None:
    local_table.client.update_item(
        TableName=local_table.name,
        Key=schema.registry_key(),
        UpdateExpression="ADD resources :names",
        ExpressionAttributeValues={":names": {"SS": ["racer", "legacy-racer"]}},
    )
    # Outside the hooks' reach: a client of its own.
    writer = RegistryStore(ServedTable(dynamodb_local.client(), local_table.name, layouts.FLAT))
    raced: list[str] = []

    def set_during_prune(params: dict[str, Any], **_: Any) -> None:
        names = params["TransactItems"][-1]["Update"]["ExpressionAttributeValues"][":names"]["SS"]
        if "racer" in names and "racer" not in raced:
            raced.append("racer")
            writer.set_defaults("racer", [RPM])  # our writer: bumps the version item

    def legacy_write_after_prune(**kwargs: Any) -> None:
        if "legacy-racer" not in raced and "legacy-racer" not in local_table.registry():
            raced.append("legacy-racer")
            write_legacy_limits(
                local_table, "legacy-racer", ("rpm",)
            )  # a writer with no version item

    local_table.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", set_during_prune
    )
    local_table.client.meta.events.register(
        "after-call.dynamodb.TransactWriteItems", legacy_write_after_prune
    )
    summary = run(local_table, Mode.PRUNE)
    assert sorted(raced) == ["legacy-racer", "racer"]
    assert summary.removed == []
    assert (
        local_table.registry() == {"racer", "legacy-racer"} == local_table.resources_with_limits()
    )


def test_the_backfill_handler_runs_a_segment_and_returns_the_summary(legacy_table: Table) -> None:
    class Context:
        function_name = "Backfill"
        aws_request_id = "r"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:local:000000000000:function:Backfill"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    result = handle_backfill.handler(
        {"mode": "backfill", "segment": 0, "total_segments": 1}, Context()
    )
    # Counts, and a bounded sample of the names: the summary stays small at any registry size.
    assert (result["added"], result["resources_found"]) == (len(LEGACY), len(LEGACY))
    assert result["sample"]["added"] == LEGACY[:SAMPLE_SIZE]
    assert result["namespaces"] == {
        "default": {
            "resources_found": 12,
            "added": 12,
            "removed": 0,
            "unregistered": 12,
            "registered_without_defaults": 0,
            "unservable": 0,
        }
    }
    assert result["continuation"] is None
    assert {"items_read", "capacity_consumed", "resources_found", "removed", "drift"} <= set(result)


@pytest.mark.parametrize(
    "event",
    [
        {"mode": "rebuild"},
        {"mode": "backfill", "segment": 4, "total_segments": 4},
        {"mode": "backfill", "segment": -1},
        {"mode": "backfill", "total_segments": 0},
        {"mode": "backfill", "segment": True},
        {"mode": "backfill", "extra": 1},
        {"mode": "backfill", "continuation": "not-a-token"},
        {"mode": "backfill", "continuation": 12},
        [],
    ],
)
def test_bad_events_are_refused_with_a_message(event: Any) -> None:
    with pytest.raises(InvalidInputError):
        BackfillRequest.from_event(event)


def test_a_token_belongs_to_its_segment(legacy_table: Table) -> None:
    reconciler = RegistryReconciler(legacy_table.served, safety_margin_millis=1, page_size=5)
    summary = reconciler.run(BackfillRequest(Mode.VERIFY, 1, 2), remaining_millis=lambda: 0)
    assert summary.continuation is not None
    with pytest.raises(InvalidContinuationError, match="segment 1 of 2"):
        BackfillRequest(Mode.VERIFY, 0, 2).resumed_from(summary.continuation)


def test_many_missing_names_are_registered_99_to_a_transaction_during_the_scan(
    local_table: Table,
) -> None:
    many = [f"model-{index:03}" for index in range(150)]
    for resource in many:
        write_legacy_limits(local_table, resource, ("rpm",))
    transactions: list[int] = []
    scans: list[int] = []
    local_table.client.meta.events.register(
        "after-call.dynamodb.Scan", lambda **_: scans.append(len(transactions))
    )
    local_table.client.meta.events.register(
        "after-call.dynamodb.TransactWriteItems", lambda **_: transactions.append(len(scans))
    )
    summary = run(local_table, Mode.BACKFILL, page_size=20)
    assert summary.added == many
    assert local_table.registry() == set(many)
    # One transaction as soon as 99 names were pending, mid-scan; the rest after the last page.
    assert len(transactions) == 2
    assert transactions[0] < len(scans)


def test_resumed_runs_go_through_every_namespace_finding_each_resource_once(
    dynamodb_local: DynamoDBLocal,
) -> None:
    # Given a namespaced table: three namespaces of unregistered config items
    client = dynamodb_local.client()
    name = f"namespaced-{uuid.uuid4().hex[:12]}"
    create_layout_table(client, name, "namespaced")
    ids = {"default": DEFAULT_NAMESPACE_ID, "alpha": "aLpHa000001", "beta": "bEtA0000001"}
    for namespace in ("alpha", "beta"):
        add_namespace(client, name, namespace, ids[namespace])
    resources = {namespace: [f"{namespace}-{index}" for index in range(3)] for namespace in ids}
    for namespace, names in resources.items():
        prefix = f"{ids[namespace]}/"
        for resource in names:
            client.put_item(
                TableName=name,
                Item={
                    **schema.config_key(resource, prefix),
                    "l_rpm_cp": {"N": "1"},
                    "l_rpm_ra": {"N": "1"},
                    "l_rpm_rp": {"N": "1"},
                    "GSI4PK": {"S": ids[namespace]},
                    "GSI4SK": {"S": schema.resource_pk(resource, prefix)},
                },
            )
    reconciler = RegistryReconciler(service.table_over(client, name), page_size=1)

    # When a backfill runs out of time after every page and is resumed until done
    request = BackfillRequest(Mode.BACKFILL)
    found: dict[str, list[str]] = {}
    for _ in range(50):
        summary = reconciler.run(request, remaining_millis=lambda: 0)
        for namespace, tally in summary.namespaces.items():
            found.setdefault(namespace, []).extend(tally.resources_found.names)
        if summary.continuation is None:
            break
        request = request.resumed_from(summary.continuation)

    # Then every namespace was gone through, each resource found exactly once and registered
    assert summary.continuation is None
    assert {namespace: sorted(names) for namespace, names in found.items()} == resources
    for namespace, names in resources.items():
        assert service.store_over(client, name, namespace).list_resources(True) == names
