"""The backfill handler publishes the drift it finds, as the RegistryDrift alarm expects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.local_server import LocalContext
from handlers import handle_backfill
from resource_registry import schema, service
from tests.conftest import Table


def write_unregistered_limit(table: Table, resource: str) -> None:
    """A limit item as a writer that bypasses the API leaves it: not in the registry."""
    table.put_raw(
        {
            **schema.limit_key(resource, "rpm"),
            "resource": {"S": resource},
            "limit_name": {"S": "rpm"},
            "capacity": {"N": "10"},
            "refill_period_seconds": {"N": "60"},
        }
    )


def published_metrics(output: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric documents a run printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def drift_published(output: str) -> list[tuple[float, dict[str, str]]]:
    """Each RegistryDrift value with the dimensions it was published under."""
    found = []
    for document in published_metrics(output):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = [metric["Name"] for metric in directive["Metrics"]]
            if "RegistryDrift" in names:
                assert directive["Namespace"] == "ResourceRegistry"
                (dimension_names,) = directive["Dimensions"]
                values = document["RegistryDrift"]  # EMF allows one value or a list of them
                total = sum(values) if isinstance(values, list) else values
                found.append((total, {name: document[name] for name in dimension_names}))
    return found


@pytest.mark.parametrize(("mode", "drift"), [("verify", 2), ("backfill", 2), ("prune", 2)])
def test_a_run_publishes_its_drift_by_mode(
    moto_table: Table, capsys: pytest.CaptureFixture[str], mode: str, drift: int
) -> None:
    # Given two resources with limits that the registry does not list
    for resource in ("gpt-4", "llama3:8b"):
        write_unregistered_limit(moto_table, resource)
    capsys.readouterr()
    # When the backfill function runs
    handle_backfill.handler({"mode": mode}, LocalContext("Backfill", "test-request"))
    # Then it publishes how many names were in drift, under the run's mode
    assert drift_published(capsys.readouterr().out) == [
        (drift, {"service": "resource-registry", "mode": mode})
    ]


def test_a_verify_run_without_drift_publishes_zero(
    moto_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    handle_backfill.handler({"mode": "verify"}, LocalContext("Backfill", "test-request"))
    assert drift_published(capsys.readouterr().out) == [
        (0, {"service": "resource-registry", "mode": "verify"})
    ]


def test_the_backfill_reads_with_the_batch_client_and_the_api_with_its_own(
    moto_table: Table,
) -> None:
    # A scan page may take seconds and a run minutes: long reads, adaptive retries
    batch = service.batch_table().client.meta.config
    api = service.table().client.meta.config
    assert (batch.read_timeout, batch.retries["mode"]) == (60, "adaptive")
    assert batch.retries["total_max_attempts"] > api.retries["total_max_attempts"]
    # An API request must answer inside API Gateway's 29 s
    assert api.read_timeout == 2
    assert service.batch_table().layout is service.table().layout
