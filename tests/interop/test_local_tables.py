"""The tables `make run` creates (devtools/layout_tables.py) are the released zae-limiter's own.

For each layout, the release makes a table (``Repository.create_table()``, then what its first
start writes, and on 0.17.0 the namespace ``prod``) and devtools makes one: their definitions and
their system items must agree, and zae-limiter 0.17.0 must work on ours as on its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import RELEASES, create_zae_limiter_table
from devtools.run_local import prepare_table
from resource_registry import schema
from resource_registry.detection import detect_table
from tests.support.zae_limiter import ZaeLimiter

pytestmark = pytest.mark.integration

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
# secrets.token_urlsafe(8), never starting with '-' (zae-limiter's namespace ids).
NAMESPACE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{10}")
RPM = {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}


def definition(client: Any, table: str) -> dict[str, Any]:
    """What describe_table says about a table's shape, in an order that does not matter."""
    described = client.describe_table(TableName=table)["Table"]

    def indexes(kind: str) -> dict[str, Any]:
        return {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in described.get(kind, [])
        }

    return {
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": sorted(
            described["AttributeDefinitions"], key=lambda attribute: attribute["AttributeName"]
        ),
        "GlobalSecondaryIndexes": indexes("GlobalSecondaryIndexes"),
        "LocalSecondaryIndexes": indexes("LocalSecondaryIndexes"),
        "StreamSpecification": described.get("StreamSpecification"),
        "BillingMode": described["BillingModeSummary"]["BillingMode"],
        "TimeToLive": client.describe_time_to_live(TableName=table)["TimeToLiveDescription"],
    }


def system_items(client: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item by key, its times and namespace ids replaced by placeholders once checked;
    a namespace id becomes the name of its namespace."""
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    names = {
        item[schema.ATTR_NAMESPACE_ID]["S"]: item[schema.ATTR_NAMESPACE_NAME]["S"]
        for item in items
        if schema.ATTR_NAMESPACE_ID in item
    }
    normalised: dict[tuple[str, str], dict[str, Any]] = {}
    for found in items:
        item = dict(found)
        for attribute in ("created_at", "updated_at"):
            if attribute in item:
                assert TIME.fullmatch(item[attribute]["S"]), item
                item[attribute] = {"S": "<time>"}
        if schema.ATTR_NAMESPACE_ID in item:
            namespace_id = item[schema.ATTR_NAMESPACE_ID]["S"]
            assert NAMESPACE_ID.fullmatch(namespace_id), item
            item[schema.ATTR_NAMESPACE_ID] = {"S": f"<id of {names[namespace_id]}>"}
        sort_key = item[schema.SORT_KEY]["S"]
        for namespace_id, name in names.items():
            sort_key = sort_key.replace(namespace_id, f"<id of {name}>")
        item[schema.SORT_KEY] = {"S": sort_key}
        normalised[(item[schema.PARTITION_KEY]["S"], sort_key)] = item
    return normalised


@pytest.mark.parametrize("layout", ["flat", "composite", "namespaced"])
def test_our_table_is_the_one_the_release_makes(
    layout: str, zae_limiter_factory: Callable[[str], ZaeLimiter], dynamodb_local: DynamoDBLocal
) -> None:
    client = dynamodb_local.client()
    # Given the release's own table, as an application's first start leaves it
    release = zae_limiter_factory(RELEASES[layout])
    requests = [release.request("create_table"), release.request("open")]
    if release.namespaced:
        requests.append(release.request("register_namespace", name="prod"))
    assert all("error" not in answer for answer in release.many(requests))

    # When devtools makes one for the same layout
    ours = f"ZAEL-ours-{uuid.uuid4().hex[:12]}"
    ids = create_zae_limiter_table(client, ours, layout)

    # Then their shape and their system items are the same
    assert definition(client, ours) == definition(client, release.table_name)
    assert system_items(client, ours) == system_items(client, release.table_name)
    assert sorted(ids) == (["default", "prod"] if layout == "namespaced" else [])
    assert detect_table(client, ours, None).layout.name == layout


def test_zae_limiter_0_17_works_on_the_table_make_run_creates(
    zae_limiter_factory: Callable[[str], ZaeLimiter], dynamodb_local: DynamoDBLocal
) -> None:
    client = dynamodb_local.client()
    # Given the table make run creates when it finds none
    limiter = zae_limiter_factory("0.17.0")
    created = prepare_table(client, limiter.table_name, None)
    assert created.endswith("(namespaced layout, namespaces default, prod)")
    ids = {
        item[schema.ATTR_NAMESPACE_NAME]["S"]: item[schema.ATTR_NAMESPACE_ID]["S"]
        for item in client.query(
            TableName=limiter.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :forward)",
            ExpressionAttributeValues={
                ":pk": {"S": schema.namespace_pk()},
                ":forward": {"S": schema.NAMESPACE_SORT_PREFIX},
            },
        )["Items"]
    }
    before = client.scan(TableName=limiter.table_name, ConsistentRead=True)["Items"]

    # When zae-limiter 0.17.0 starts on it, resolves its namespaces and sets defaults in prod
    answers = limiter.many(
        [
            limiter.request("open"),
            limiter.request("open", namespace="prod"),
            limiter.request("register_namespace", name="prod"),
            limiter.request("list_namespaces"),
            limiter.request(
                "set_resource_defaults", resource="gpt-4", limits=[RPM], namespace="prod"
            ),
            limiter.request("get_resource_defaults", resource="gpt-4", namespace="prod"),
            limiter.request("list_resources_with_defaults", namespace="prod"),
            limiter.request("list_resources_with_defaults", namespace="default"),
        ]
    )

    # Then it finds everything as it would have written it, and writes no system item of its own
    assert all("error" not in answer for answer in answers), answers
    opened, opened_prod, registered, listed, _, limits, in_prod, in_default = (
        answer["result"] for answer in answers
    )
    assert opened == {"namespace_id": ids["default"]}
    assert opened_prod == {"namespace_id": ids["prod"]}
    assert registered == ids["prod"]
    assert {namespace["name"]: namespace["namespace_id"] for namespace in listed} == ids
    assert [{key: limit[key] for key in RPM} for limit in limits] == [RPM]
    assert (in_prod, in_default) == (["gpt-4"], [])
    after = client.scan(TableName=limiter.table_name, ConsistentRead=True)["Items"]
    system = [item for item in after if item["PK"]["S"] == schema.namespace_pk()]
    assert sorted(map(str, system)) == sorted(
        str(item) for item in before if item["PK"]["S"] == schema.namespace_pk()
    )
    # And make run, started again, finds the table and leaves it as it is
    assert prepare_table(client, limiter.table_name, None) == (
        f"table {limiter.table_name} found (namespaced layout)"
    )
