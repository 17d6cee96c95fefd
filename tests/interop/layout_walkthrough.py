"""Print the raw items each zae-limiter release writes, step by step: the evidence of LAYOUTS.md.

    .venv/bin/python -m tests.interop.layout_walkthrough [VERSION ...]   # from the repository

Starts its own in-memory DynamoDB Local, makes a table per version with that version's
``create_table()``, runs the steps below through the probe and, after each step, prints the
items it added, changed or removed (a consistent Scan of the whole table, fine at this size).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from devtools.dynamodb_local import running
from resource_registry.dynamodb import all_items
from tests.support.zae_limiter import VERSIONS, ZaeLimiter

RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
TPM = {"name": "tpm", "capacity": 10000, "refill_amount": 5000, "refill_period_seconds": 60}
ONE = {"name": "rpm", "capacity": 1, "refill_period_seconds": 60}

COMMON_STEPS: list[dict[str, Any]] = [
    {"op": "delete_resource_defaults", "resource": "never-set"},
    {"op": "open"},
    {"op": "set_resource_defaults", "resource": "gpt-4", "limits": [{**RPM, "burst": 150}, TPM]},
    {"op": "set_resource_defaults", "resource": "openai/gpt-4", "limits": [ONE]},
    {"op": "set_resource_defaults", "resource": "llama3:8b", "limits": [ONE]},
    {"op": "set_resource_defaults", "resource": "gpt-4", "limits": [{**RPM, "capacity": 200}]},
    {"op": "set_resource_defaults", "resource": "empty", "limits": []},
    {"op": "set_audit_retention_days", "days": 7},
    {"op": "set_resource_defaults", "resource": "claude", "limits": [ONE], "principal": "alice"},
    {"op": "set_system_defaults", "limits": [ONE], "on_unavailable": "allow"},
    {"op": "delete_resource_defaults", "resource": "gpt-4"},
    {"op": "list_resources_with_defaults"},
    {"op": "get_audit_events", "entity_id": "$RESOURCE:gpt-4"},
]
NAMESPACE_STEPS: list[dict[str, Any]] = [
    {"op": "register_namespace", "name": "tenant-a"},
    {
        "op": "set_resource_defaults",
        "resource": "llama3:8b",
        "namespace": "tenant-a",
        "limits": [ONE],
    },
    {"op": "set_resource_defaults", "resource": "openai/gpt-4", "limits": [ONE], "disabled": True},
    {"op": "set_resource_defaults", "resource": "openai/gpt-4", "limits": [RPM]},
    {"op": "set_version_record", "schema_version": "0.10.0", "lambda_version": "0.17.0"},
    {
        "op": "set_resource_defaults",
        "resource": "shaped",
        "limits": [
            {
                **RPM,
                "schedule": [
                    {
                        "cron": "* 9-17 * * MON-FRI",
                        "tz": "Europe/Berlin",
                        "capacity": 500,
                        "refill_amount": 500,
                    }
                ],
            },
            {**TPM, "soft": True},
            {
                "name": "daily",
                "capacity": 10000,
                "refill_amount": 0,
                "refill_period_seconds": 86400,
                "reset_schedule": [{"cron": "0 0 * * *", "tz": "Europe/Berlin"}],
            },
            {
                "name": "hourly",
                "capacity": 1000,
                "refill_amount": 0,
                "refill_period_seconds": 3600,
                "reset_after_seconds": 3600,
            },
        ],
    },
    {"op": "get_resource_defaults", "resource": "shaped"},
    {"op": "register_namespace", "name": "gone"},
    {"op": "delete_namespace", "name": "gone"},
    {"op": "list_namespaces"},
]


def scan(limiter: ZaeLimiter, client: Any) -> dict[tuple[str, str], dict[str, Any]]:
    items = all_items(client.scan, TableName=limiter.table_name, ConsistentRead=True)
    return {(item["PK"]["S"], item["SK"]["S"]): item for item in items}


def walk(version: str, endpoint: str, client: Any) -> None:
    limiter = ZaeLimiter(version, endpoint, f"ZAEL-walk-{version.replace('.', '')}")
    print(f"\n## zae-limiter {version}: table {limiter.table_name}")
    limiter.create_table()
    table = client.describe_table(TableName=limiter.table_name)["Table"]
    for index in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", []):
        keys = [key["AttributeName"] for key in index["KeySchema"]]
        print(f"index {index['IndexName']}: keys {keys}, {index['Projection']['ProjectionType']}")
    before = scan(limiter, client)
    steps = COMMON_STEPS + (NAMESPACE_STEPS if limiter.namespaced else [])
    for step in steps:
        answer = limiter.many([step])[0]
        print(f"\n### {json.dumps(step)}\n=> {json.dumps(answer)}")
        after = scan(limiter, client)
        for key in sorted(before.keys() | after.keys()):
            if key not in after:
                print(f"REMOVED {key}")
            elif before.get(key) != after[key]:
                label = "ADDED  " if key not in before else "CHANGED"
                print(f"{label} {json.dumps(after[key], sort_keys=True)}")
        before = after


def main(versions: list[str]) -> None:
    with running() as local:
        client = local.client()
        for version in versions or VERSIONS:
            walk(version, local.endpoint, client)


if __name__ == "__main__":
    main(sys.argv[1:])
