"""The backfill fan-out state machine, as synthesized, run here over DynamoDB Local.

Its JSONata runs in tests/step_functions.py; its Task calls the real backfill handler, given a
tiny time budget so every segment loops on its continuation.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, add_namespace, create_layout_table
from handlers import handle_backfill
from resource_registry import schema, service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.summary import SAMPLE_SIZE
from tests.conftest import Table
from tests.infra.conftest import synthesize
from tests.infra.test_backfill_fanout import FUNCTION_ARN, definition
from tests.integration.test_backfill import LEGACY, write_legacy_limits, write_noise
from tests.step_functions import run

pytestmark = pytest.mark.integration


class OutOfTime:
    """A Lambda context whose clock has run out: the function stops after every page."""

    function_name = "Backfill"
    aws_request_id = "fan-out"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:Backfill"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 0


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return definition(synthesize(tmp_path_factory.mktemp("cdk.out")))


def invoke_backfill(function_arn: str, payload: Any) -> Any:
    assert function_arn == FUNCTION_ARN
    return handle_backfill.handler(payload, OutOfTime())


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        handle_backfill, "RegistryReconciler", functools.partial(RegistryReconciler, page_size=9)
    )


def test_the_fan_out_registers_every_resource_and_adds_up_the_runs(
    machine: dict[str, Any], local_table: Table, small_pages: None, tmp_path: Path
) -> None:
    for resource in LEGACY:
        write_legacy_limits(local_table, resource)
    write_noise(local_table, 100)
    # A registered resource, so the registry item exists before the scan and the count is stable.
    local_table.store.set_defaults("seeded", local_table.store.read_resource(LEGACY[0]).limits)
    items = len(local_table.items())

    summary = run(machine, {"mode": "backfill", "total_segments": 3}, invoke_backfill)

    assert local_table.registry() == {*LEGACY, "seeded"}
    assert summary["added"] == summary["unregistered"] == summary["drift"] == len(LEGACY)
    assert summary["sample"]["added"] == LEGACY[:SAMPLE_SIZE]
    assert summary["resources_found"] == len(LEGACY) + 1
    assert summary["namespaces"]["default"]["resources_found"] == len(LEGACY) + 1
    assert summary["items_read"] == items
    assert summary["invocations"] > 3  # every segment resumed at least once
    assert summary["registered_without_defaults"] == 0


def test_a_verify_fan_out_with_the_default_segments_reports_drift(
    machine: dict[str, Any], local_table: Table, small_pages: None
) -> None:
    write_legacy_limits(local_table, "unregistered-one")
    local_table.store.set_defaults(
        "registered-one", local_table.store.read_resource("unregistered-one").limits
    )
    before = local_table.items()

    summary = run(machine, {"mode": "verify"}, invoke_backfill)

    assert summary["total_segments"] == 4
    assert (summary["drift"], summary["unregistered"]) == (1, 1)
    assert summary["sample"]["unregistered"] == ["unregistered-one"]
    assert summary["added"] == 0
    assert local_table.items() == before


def test_the_fan_out_reconciles_every_namespace_of_a_namespaced_table(
    machine: dict[str, Any], dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a zae-limiter 0.17 table: two namespaces, config items but no registry entries
    client = dynamodb_local.client()
    name = f"namespaced-{uuid.uuid4().hex[:12]}"
    create_layout_table(client, name, "namespaced")
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    ids = {"default": DEFAULT_NAMESPACE_ID, "tenant-a": "tEnAnTa0001"}
    add_namespace(client, name, "tenant-a", ids["tenant-a"])
    resources = {"default": ["openai/gpt-4", "llama3:8b"], "tenant-a": ["claude-3"]}
    for namespace, names in resources.items():
        prefix = f"{ids[namespace]}/"
        for resource in names:
            client.put_item(
                TableName=name,
                Item={
                    **schema.config_key(resource, prefix),
                    "resource": {"S": resource},
                    "config_version": {"N": "1"},
                    "l_rpm_cp": {"N": "10"},
                    "l_rpm_ra": {"N": "10"},
                    "l_rpm_rp": {"N": "60"},
                    "GSI4PK": {"S": ids[namespace]},
                    "GSI4SK": {"S": schema.resource_pk(resource, prefix)},
                },
            )

    # When the state machine runs a backfill of every namespace over two segments
    summary = run(machine, {"mode": "backfill", "total_segments": 2}, invoke_backfill)

    # Then each namespace's registry holds its resources, counted per namespace
    for namespace, names in resources.items():
        store = service.store_over(client, name, namespace)
        assert store.list_resources(consistent=True) == sorted(names)
    assert summary["added"] == 3
    assert summary["namespaces"] == {
        "default": {
            "resources_found": 2,
            "added": 2,
            "removed": 0,
            "unregistered": 2,
            "registered_without_defaults": 0,
            "unservable": 0,
        },
        "tenant-a": {
            "resources_found": 1,
            "added": 1,
            "removed": 0,
            "unregistered": 1,
            "registered_without_defaults": 0,
            "unservable": 0,
        },
    }
    assert summary["sample"]["added"] == ["claude-3", "llama3:8b", "openai/gpt-4"]
