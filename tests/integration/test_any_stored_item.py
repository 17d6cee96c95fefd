"""Whatever zae-limiter stores in a config item, the API reads, replaces and deletes it.

On DynamoDB Local, whose limits on expressions (300 operators, 4 KB) and item size are DynamoDB's:
items of many limits, fractional numbers, attributes the API does not model, and writes by
zae-limiter landing between a request's read and its commit. (tests/interop/ has zae-limiter
write the items itself; here they are written as it writes them, to place races exactly.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, create_layout_table
from resource_registry import layouts, schema, service
from resource_registry.model import Limit
from tests.conftest import api_call

pytestmark = pytest.mark.integration

DEFAULTS = "/resources/{}/defaults"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


class ZaeTable:
    """A composite or namespaced table in DynamoDB Local, served by the handlers."""

    def __init__(self, client: Any, name: str, layout: str) -> None:
        self.client, self.name, self.layout = client, name, layout
        self.prefix = f"{DEFAULT_NAMESPACE_ID}/" if layout == "namespaced" else ""

    def key(self, resource: str) -> dict[str, Any]:
        return schema.config_key(resource, self.prefix)

    def zae_limiter_put(self, resource: str, limits: int, **extra: Any) -> dict[str, Any]:
        """A config item as zae-limiter's set_resource_defaults writes it: one PutItem of the
        whole item, config_version 1, numbers as given."""
        item: dict[str, Any] = {
            **self.key(resource),
            "resource": {"S": resource},
            "config_version": {"N": "1"},
            **extra,
        }
        if self.layout == "namespaced":
            item["GSI4PK"] = {"S": DEFAULT_NAMESPACE_ID}
            item["GSI4SK"] = {"S": schema.resource_pk(resource, self.prefix)}
        for index in range(limits):
            name = f"limit-{index:04}"
            item[f"l_{name}_cp"] = {"N": "1000"}
            item[f"l_{name}_ra"] = {"N": "1000"}
            item[f"l_{name}_rp"] = {"N": "60"}
        self.client.put_item(TableName=self.name, Item=item)
        return item

    def item(self, resource: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.client.get_item(
            TableName=self.name, Key=self.key(resource), ConsistentRead=True
        ).get("Item")
        return found

    def registry(self) -> set[str]:
        item = self.client.get_item(
            TableName=self.name, Key=schema.registry_key(self.prefix), ConsistentRead=True
        ).get("Item", {})
        return set(item.get("resources", {}).get("SS", []))

    def register(self, resource: str) -> None:
        """As zae-limiter's set does after its PutItem: the name added to the registry."""
        self.client.update_item(
            TableName=self.name,
            Key=schema.registry_key(self.prefix),
            UpdateExpression="ADD resources :r",
            ExpressionAttributeValues={":r": {"SS": [resource]}},
        )


@pytest.fixture(params=["composite", "namespaced"])
def zae_table(
    request: pytest.FixtureRequest, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ZaeTable]:
    name = f"{request.param}-{uuid.uuid4().hex[:12]}"
    client = dynamodb_local.client()
    create_layout_table(client, name, request.param)
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()
    yield ZaeTable(client, name, request.param)
    client.delete_table(TableName=name)


def limit_names(item: dict[str, Any] | None) -> list[str]:
    return sorted(schema.config_limit_names(item or {}))


@pytest.mark.parametrize("count", [38, 60, 200, 600])
def test_a_resource_of_many_limits_is_read_replaced_and_deleted(
    zae_table: ZaeTable, count: int
) -> None:
    # Given zae-limiter's item of many limits (it has no limit count), with a disabled flag
    zae_table.zae_limiter_put("big", count, disabled={"BOOL": True})
    zae_table.register("big")

    # When it is read, replaced with one limit, and deleted
    read = api_call("GET", DEFAULTS.format("big"))
    replaced = api_call("PUT", DEFAULTS.format("big"), body={"limits": [RPM]})
    after_put = zae_table.item("big")
    deleted = api_call("DELETE", DEFAULTS.format("big"))

    # Then each works: every limit read, the replacement exact, the flag kept throughout
    assert read["statusCode"] == 200
    assert len(read["json"]["limits"]) == count
    assert replaced["statusCode"] == 200, replaced["json"]
    assert limit_names(after_put) == ["rpm"]
    assert after_put is not None and after_put["disabled"] == {"BOOL": True}
    assert deleted["statusCode"] == 204, deleted["json"]
    assert limit_names(zae_table.item("big")) == []
    assert zae_table.item("big")["disabled"] == {"BOOL": True}  # type: ignore[index]
    assert zae_table.registry() == set()


def test_fractional_numbers_are_served_exactly_as_stored(zae_table: ZaeTable) -> None:
    # Given numbers zae-limiter 0.17 accepts: fractions, a refill of 0, and digits no binary
    # float holds
    zae_table.zae_limiter_put(
        "fractions",
        0,
        l_rpm_cp={"N": "1.5"},
        l_rpm_ra={"N": "0"},
        l_rpm_rp={"N": "0.5"},
        l_tpm_cp={"N": "12345678901234567.125"},
        l_tpm_ra={"N": "0.1"},
        l_tpm_rp={"N": "60"},
    )
    zae_table.register("fractions")

    answer = api_call("GET", DEFAULTS.format("fractions"))

    assert answer["statusCode"] == 200
    limits = json.loads(answer["body"], parse_float=Decimal)["limits"]
    by_name = {limit["name"]: limit for limit in limits}
    assert by_name["rpm"]["capacity"] == Decimal("1.5")
    assert by_name["rpm"]["refill_amount"] == 0
    assert by_name["rpm"]["refill_period_seconds"] == Decimal("0.5")
    assert by_name["tpm"]["capacity"] == Decimal("12345678901234567.125")
    assert '"refill_amount": 0.1' in answer["body"]
    # And the resource can be replaced and deleted
    assert (
        api_call("PUT", DEFAULTS.format("fractions"), body={"limits": [RPM]})["statusCode"] == 200
    )
    assert api_call("DELETE", DEFAULTS.format("fractions"))["statusCode"] == 204


@pytest.mark.parametrize("count", [2, 600])
def test_a_zae_limiter_rewrite_between_read_and_commit_fails_the_conditional_put(
    zae_table: ZaeTable, count: int
) -> None:
    # Given a resource and its ETag
    zae_table.zae_limiter_put("raced", count)
    zae_table.register("raced")
    etag = api_call("GET", DEFAULTS.format("raced"))["headers"]["ETag"]
    # (a first PUT marks the item as the service's; then zae-limiter rewrites it again)
    rewrites = {"done": False}

    def zae_limiter_rewrites_after_our_read(**_: Any) -> None:
        if not rewrites["done"]:
            rewrites["done"] = True
            # The same limits, one added: only a comparison of the whole item could tell.
            zae_table.zae_limiter_put("raced", count, l_added_cp={"N": "1"}, l_added_rp={"N": "1"})

    client = service.table().client
    client.meta.events.register("after-call.dynamodb.GetItem", zae_limiter_rewrites_after_our_read)

    # When a PUT conditioned on that ETag runs, and zae-limiter rewrites right after its read
    answer = api_call(
        "PUT", DEFAULTS.format("raced"), body={"limits": [RPM]}, headers={"If-Match": etag}
    )

    # Then the write fails on its condition, sees the new ETag, and nothing of ours lands
    assert answer["statusCode"] == 412, answer["json"]
    assert "added" in limit_names(zae_table.item("raced"))
    assert "rpm" not in limit_names(zae_table.item("raced"))


def test_an_in_place_flag_change_between_read_and_commit_survives_the_put(
    zae_table: ZaeTable,
) -> None:
    # Given a resource the service wrote
    assert api_call("PUT", DEFAULTS.format("flagged"), body={"limits": [RPM]})["statusCode"] == 200
    changed = {"done": False}

    def zae_limiter_disables_after_our_read(**_: Any) -> None:
        if not changed["done"]:
            changed["done"] = True  # as its disable_resource() does: an UpdateItem in place
            zae_table.client.update_item(
                TableName=zae_table.name,
                Key=zae_table.key("flagged"),
                UpdateExpression="SET disabled = :d",
                ExpressionAttributeValues={":d": {"BOOL": True}},
            )

    client = service.table().client
    client.meta.events.register("after-call.dynamodb.GetItem", zae_limiter_disables_after_our_read)

    # When a PUT runs and zae-limiter disables the resource right after the PUT's read
    tpm = {"name": "tpm", "capacity": 5, "refill_period_seconds": 1}
    answer = api_call("PUT", DEFAULTS.format("flagged"), body={"limits": [tpm]})

    # Then the PUT tries again from a fresh read and keeps the flag
    assert answer["statusCode"] == 200
    item = zae_table.item("flagged")
    assert item is not None and item["disabled"] == {"BOOL": True}
    assert limit_names(item) == ["tpm"]


def test_the_most_limits_a_layout_holds_fit_one_write_at_their_largest(
    zae_table: ZaeTable, dynamodb_local: DynamoDBLocal
) -> None:
    # Given the layout's most limits, with the longest names and the largest numbers
    layout = layouts.LAYOUTS[zae_table.layout]
    limits = [
        Limit(f"l{index:04}" + "x" * 59, 10**15, 10**15, 10**15 - 1, 10**9)
        for index in range(layout.max_limits)
    ]
    # (DynamoDB answers such a write in milliseconds; DynamoDB Local on a busy machine can take
    # longer than the functions' 2 s read timeout, so this store's client waits longer)
    client = boto3.client(
        "dynamodb", endpoint_url=dynamodb_local.endpoint, config=Config(read_timeout=60)
    )

    # When they are written as one set
    service.store_over(client, zae_table.name).set_defaults("r" * 64, limits)

    # Then DynamoDB took the item and its audit event: every limit is there
    assert len(limit_names(zae_table.item("r" * 64))) == layout.max_limits


def test_one_limit_more_than_the_layout_holds_is_refused_naming_the_maximum(
    zae_table: ZaeTable,
) -> None:
    layout = layouts.LAYOUTS[zae_table.layout]
    limits = [{**RPM, "name": f"l{index:04}"} for index in range(layout.max_limits + 1)]

    answer = api_call("PUT", DEFAULTS.format("many"), body={"limits": limits})

    assert answer["statusCode"] == 400
    assert str(layout.max_limits) in answer["json"]["message"]
    assert zae_table.item("many") is None
