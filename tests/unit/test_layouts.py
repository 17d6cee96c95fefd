"""The composite and namespaced layouts on moto: items exact, writes in place and conditioned.

The interop tests (tests/interop/) check the same against the released zae-limiter packages; these
pin the details fast: attribute by attribute, call by call, and races injected between a write's
read and its commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.call_counter import CallCounter
from resource_registry import clients, schema, service
from resource_registry.detection import detect_table
from resource_registry.errors import UnsupportedTableError
from resource_registry.layouts.composite import CompositeLayout
from resource_registry.layouts.flat import FlatLayout
from resource_registry.layouts.namespaced import NamespacedLayout
from resource_registry.layouts.stored import StoredResource
from resource_registry.model import Limit
from tests.conftest import MOTO_CONFIG, REGION, api_call

RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
TPM = {"name": "tpm", "capacity": 5000, "refill_amount": 2500, "refill_period_seconds": 60}
NAMESPACE_IDS = {"default": "dEfAuLt0001", "tenant-a": "tEnAnTa0001"}
TABLE = "zae-limiter-table"


class ZaeTable:
    """A table laid out as a zae-limiter release lays it out, in moto."""

    def __init__(self, client: Any, layout: str) -> None:
        self.client = client
        self.layout = layout
        self.prefix = f"{NAMESPACE_IDS['default']}/" if layout == "namespaced" else ""

    def put(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=TABLE, Item=item)

    def config(self, resource: str, namespace: str = "default") -> dict[str, Any] | None:
        prefix = f"{NAMESPACE_IDS[namespace]}/" if self.layout == "namespaced" else ""
        key = schema.config_key(resource, prefix)
        item: dict[str, Any] | None = self.client.get_item(
            TableName=TABLE, Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def registry(self, namespace: str = "default") -> set[str]:
        prefix = f"{NAMESPACE_IDS[namespace]}/" if self.layout == "namespaced" else ""
        item = self.client.get_item(TableName=TABLE, Key=schema.registry_key(prefix)).get(
            "Item", {}
        )
        return set(item.get("resources", {}).get("SS", []))

    def zae_limiter_set(self, resource: str, limits: dict[str, tuple[int, int, int]]) -> None:
        """As zae-limiter writes defaults: one PutItem replacing the item, config_version 1."""
        item: dict[str, Any] = {
            **schema.config_key(resource, self.prefix),
            "resource": {"S": resource},
            "config_version": {"N": "1"},
        }
        for name, (capacity, refill_amount, period) in limits.items():
            item[f"l_{name}_cp"] = {"N": str(capacity)}
            item[f"l_{name}_ra"] = {"N": str(refill_amount)}
            item[f"l_{name}_rp"] = {"N": str(period)}
            if self.layout == "composite":
                item[f"l_{name}_bx"] = {"N": str(capacity)}
        if self.layout == "namespaced":
            item["GSI4PK"] = {"S": NAMESPACE_IDS["default"]}
            item["GSI4SK"] = {"S": schema.resource_pk(resource, self.prefix)}
        self.put(item)


def make_table(client: Any, layout: str) -> ZaeTable:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("PK", "SK", "GSI4PK", "GSI4SK")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI4",
                "KeySchema": [
                    {"AttributeName": "GSI4PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI4SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    table = ZaeTable(client, layout)
    if layout == "composite":
        table.put(
            {"PK": {"S": "SYSTEM#"}, "SK": {"S": "#VERSION"}, "schema_version": {"S": "0.8.0"}}
        )
    if layout == "namespaced":
        table.put(
            {"PK": {"S": "_/SYSTEM#"}, "SK": {"S": "#VERSION"}, "schema_version": {"S": "0.10.0"}}
        )
        for name, namespace_id in NAMESPACE_IDS.items():
            table.put(
                {
                    "PK": {"S": "_/SYSTEM#"},
                    "SK": {"S": f"#NAMESPACE#{name}"},
                    "namespace_id": {"S": namespace_id},
                    "namespace_name": {"S": name},
                    "status": {"S": "active"},
                }
            )
    return table


@pytest.fixture(params=["composite", "namespaced"])
def zae_table(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ZaeTable]:
    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("dynamodb", region_name=REGION)
        monkeypatch.setenv("TABLE_NAME", TABLE)
        yield make_table(client, request.param)


def put(resource: str, limits: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    path = f"/resources/{resource.replace('/', '%2F')}/defaults"
    return api_call("PUT", path, body={"limits": limits}, **kwargs)


def get(resource: str) -> dict[str, Any]:
    return api_call("GET", f"/resources/{resource.replace('/', '%2F')}/defaults")


def test_a_set_writes_the_config_item_as_zae_limiter_reads_it(zae_table: ZaeTable) -> None:
    assert put("openai/gpt-4", [RPM, TPM])["statusCode"] == 200

    item = zae_table.config("openai/gpt-4")
    assert item is not None
    limits = {key: value["N"] for key, value in item.items() if key.startswith("l_")}
    expected = {
        "l_rpm_cp": "100",
        "l_rpm_ra": "100",
        "l_rpm_rp": "60",
        "l_tpm_cp": "5000",
        "l_tpm_ra": "2500",
        "l_tpm_rp": "60",
    }
    if zae_table.layout == "composite":  # 0.8-0.9 keep a burst; 0.10 and later do not
        expected |= {"l_rpm_bx": "100", "l_tpm_bx": "5000"}
    assert limits == expected
    assert item["resource"] == {"S": "openai/gpt-4"}
    if zae_table.layout == "namespaced":
        assert item["GSI4PK"] == {"S": NAMESPACE_IDS["default"]}
        assert item["GSI4SK"] == {"S": f"{NAMESPACE_IDS['default']}/RESOURCE#openai/gpt-4"}
    else:
        assert "GSI4PK" not in item
    assert zae_table.registry() == {"openai/gpt-4"}


def test_a_set_updates_in_place_keeping_what_it_does_not_model(zae_table: ZaeTable) -> None:
    zae_table.zae_limiter_set("gpt-4", {"rpm": (10, 10, 1), "tpm": (20, 20, 1)})
    zae_table.client.update_item(
        TableName=TABLE,
        Key=schema.config_key("gpt-4", zae_table.prefix),
        UpdateExpression="SET #d = :d, #c = :c, #f = :f",
        ExpressionAttributeNames={"#d": "disabled", "#c": "cascade", "#f": "future_flag"},
        ExpressionAttributeValues={":d": {"BOOL": True}, ":c": {"BOOL": False}, ":f": {"S": "x"}},
    )

    assert put("gpt-4", [RPM])["statusCode"] == 200

    item = zae_table.config("gpt-4")
    assert item is not None
    assert (item["disabled"], item["cascade"], item["future_flag"]) == (
        {"BOOL": True},
        {"BOOL": False},
        {"S": "x"},
    )
    assert not [key for key in item if key.startswith("l_tpm_")]  # the dropped limit is gone
    assert item["config_version"] == {"N": "2"}  # one above zae-limiter's 1


@pytest.mark.parametrize(
    ("attributes", "why"),
    [
        ({"l_tpm_sched": {"S": "1h9-17w1-5c500a500"}}, "scheduled"),
        ({"l_tpm_soft": {"BOOL": True}}, "soft"),
        ({"l_tpm_rsched": {"S": "1m0h0"}}, "reset on a schedule"),
        ({"sched": {"S": "1h9-17"}}, "resource-level schedule"),
    ],
)
def test_a_limit_the_api_cannot_represent_makes_a_put_409(
    zae_table: ZaeTable, attributes: dict[str, Any], why: str
) -> None:
    zae_table.zae_limiter_set("gpt-4", {"rpm": (10, 10, 1), "tpm": (20, 20, 1)})
    zae_table.client.update_item(
        TableName=TABLE,
        Key=schema.config_key("gpt-4", zae_table.prefix),
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
        ExpressionAttributeNames={f"#{name}": name for name in attributes},
        ExpressionAttributeValues={f":{name}": value for name, value in attributes.items()},
    )
    before = zae_table.config("gpt-4")

    answer = put("gpt-4", [RPM])

    assert (answer["statusCode"], answer["json"]["code"]) == (409, "UnrepresentableLimit")
    assert why in answer["json"]["message"]
    assert zae_table.config("gpt-4") == before


def test_a_windowed_limit_is_read_and_refused_to_a_put(zae_table: ZaeTable) -> None:
    zae_table.zae_limiter_set("gpt-4", {"rpm": (10, 10, 1)})
    zae_table.client.update_item(
        TableName=TABLE,
        Key=schema.config_key("gpt-4", zae_table.prefix),
        UpdateExpression=(
            "SET w_hourly_cp = :n, w_hourly_ra = :z, w_hourly_rp = :n, w_hourly_rsa = :n"
        ),
        ExpressionAttributeValues={":n": {"N": "3600"}, ":z": {"N": "0"}},
    )
    assert [limit["name"] for limit in get("gpt-4")["json"]["limits"]] == ["hourly", "rpm"]
    answer = put("gpt-4", [RPM])
    assert answer["statusCode"] == 409
    assert "'hourly' (windowed" in answer["json"]["message"]


def test_a_burst_is_kept_only_where_the_table_keeps_one(zae_table: ZaeTable) -> None:
    answer = put("gpt-4", [{**RPM, "burst": 150}])
    if zae_table.layout == "composite":
        assert answer["statusCode"] == 200
        assert get("gpt-4")["json"]["limits"][0]["burst"] == 150
    else:
        assert answer["statusCode"] == 400
        assert "keeps no burst" in answer["json"]["message"]
        assert zae_table.config("gpt-4") is None
        assert put("gpt-4", [{**RPM, "burst": 100}])["statusCode"] == 200
        assert "burst" not in get("gpt-4")["json"]["limits"][0]


def test_a_zae_limiter_write_between_the_read_and_the_commit_is_caught(
    zae_table: ZaeTable,
) -> None:
    # Given our defaults and a client holding their ETag
    etag = put("gpt-4", [RPM])["headers"]["ETag"]
    landed: list[bool] = []

    def zae_limiter_writes_after_our_read(**_: Any) -> None:
        if not landed:
            landed.append(True)
            zae_table.zae_limiter_set("gpt-4", {"rpm": (7, 7, 1)})

    # When zae-limiter rewrites the item right after the PUT's own read (its ETag still matched)
    service.table()
    clients.dynamodb_client().meta.events.register(
        "after-call.dynamodb.GetItem", zae_limiter_writes_after_our_read
    )
    answer = put("gpt-4", [TPM], headers={"If-Match": etag})

    # Then the transaction's condition fails, the read again sees the new ETag, and it is 412
    assert landed
    assert answer["statusCode"] == 412
    item = zae_table.config("gpt-4")
    assert item is not None
    assert item["l_rpm_cp"] == {"N": "7"}
    assert "l_tpm_cp" not in item


def test_a_get_is_one_get_item_and_a_set_one_get_item_and_one_transaction(
    zae_table: ZaeTable,
) -> None:
    # Once per process: the layout, the namespace's id, its audit retention.
    service.table()
    service.audit_trail().retention_days(service.namespaces().resolve("default"))
    counter = CallCounter(clients.dynamodb_client())
    assert put("gpt-4", [RPM, TPM])["statusCode"] == 200
    assert counter.calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    counter.calls.clear()
    assert get("gpt-4")["statusCode"] == 200
    assert counter.calls == Counter({"GetItem": 1})


def test_a_delete_removes_the_limits_and_the_registry_entry(zae_table: ZaeTable) -> None:
    zae_table.zae_limiter_set("gpt-4", {"rpm": (10, 10, 1)})
    api_call("GET", "/resources")  # registry as zae-limiter left it: unregistered
    assert api_call("DELETE", "/resources/gpt-4/defaults")["statusCode"] == 204
    # The item stays without limits, marked by the delete (whose audit event has that id), so
    # a reader of the stream can tell the service made the change
    config = zae_table.config("gpt-4")
    assert config is not None
    assert not [attribute for attribute in config if attribute.startswith(("l_", "w_"))]
    assert schema.ATTR_WRITE_ID in config
    assert zae_table.registry() == set()
    assert api_call("DELETE", "/resources/gpt-4/defaults")["statusCode"] == 404


def test_namespaces_are_listed_and_resolved(zae_table: ZaeTable) -> None:
    listed = api_call("GET", "/namespaces")["json"]["namespaces"]
    missing = api_call("GET", "/namespaces/tenant-b/resources")
    assert missing["statusCode"] == 404
    assert missing["json"]["code"] == "NamespaceNotFound"
    if zae_table.layout == "composite":
        assert listed == ["default"]
        assert api_call("GET", "/namespaces/tenant-a/resources")["statusCode"] == 404
        return
    assert listed == ["default", "tenant-a"]
    assert (
        api_call("PUT", "/namespaces/tenant-a/resources/x/defaults", body={"limits": [RPM]})[
            "statusCode"
        ]
        == 200
    )
    assert zae_table.registry("tenant-a") == {"x"}
    assert zae_table.registry() == set()
    assert zae_table.config("x", "tenant-a") is not None


def test_a_namespace_marked_deleted_is_404(zae_table: ZaeTable) -> None:
    if zae_table.layout != "namespaced":
        pytest.skip("namespaces exist on the namespaced layout only")
    zae_table.put(
        {
            "PK": {"S": "_/SYSTEM#"},
            "SK": {"S": "#NAMESPACE#tenant-a"},
            "namespace_id": {"S": NAMESPACE_IDS["tenant-a"]},
            "namespace_name": {"S": "tenant-a"},
            "status": {"S": "purging"},
        }
    )
    assert api_call("GET", "/namespaces/tenant-a/resources")["statusCode"] == 404
    assert api_call("GET", "/namespaces")["json"] == {"namespaces": ["default"]}


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], FlatLayout),
        ([("SYSTEM#", "#VERSION", {"schema_version": {"S": "1.0.0"}})], FlatLayout),
        ([("SYSTEM#", "#VERSION", {"schema_version": {"S": "0.7.0"}})], FlatLayout),
        ([("SYSTEM#", "#VERSION", {"schema_version": {"S": "0.8.0"}})], CompositeLayout),
        ([("_/SYSTEM#", "#VERSION", {"schema_version": {"S": "0.8.0"}})], NamespacedLayout),
        ([("_/SYSTEM#", "#VERSION", {"schema_version": {"S": "0.10.0"}})], NamespacedLayout),
        # Both records: 0.17 opened a table 0.9 wrote; the namespaced one says what is served.
        (
            [
                ("SYSTEM#", "#VERSION", {"schema_version": {"S": "0.8.0"}}),
                ("_/SYSTEM#", "#VERSION", {"schema_version": {"S": "0.10.0"}}),
            ],
            NamespacedLayout,
        ),
        # No version record (create_table() alone): the data says.
        ([("_/SYSTEM#", "#NAMESPACE#default", {"namespace_id": {"S": "x"}})], NamespacedLayout),
        (
            [
                ("SYSTEM#", "#RESOURCES", {"resources": {"SS": ["gpt-4"]}}),
                ("RESOURCE#gpt-4", "#CONFIG", {"l_rpm_cp": {"N": "1"}}),
            ],
            CompositeLayout,
        ),
        (
            [
                ("SYSTEM#", "#RESOURCES", {"resources": {"SS": ["gpt-4"]}}),
                ("RESOURCE#gpt-4", "#LIMIT#rpm", {"capacity": {"N": "1"}}),
            ],
            FlatLayout,
        ),
    ],
)
def test_the_layout_is_detected(
    moto_table: Any, items: list[tuple[str, str, dict[str, Any]]], expected: type
) -> None:
    for pk, sk, attributes in items:
        moto_table.put_raw({"PK": {"S": pk}, "SK": {"S": sk}, **attributes})
    assert type(detect_table(moto_table.client, moto_table.name, None).layout) is expected


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [
        ((), FlatLayout),  # this stack's own table
        (("GSI1", "GSI2"), FlatLayout),  # zae-limiter 0.6's create_table
        (("GSI1", "GSI2", "GSI3"), CompositeLayout),  # 0.8-0.9
        (("GSI1", "GSI2", "GSI3", "GSI4"), NamespacedLayout),  # 0.10 and later
    ],
)
def test_a_table_without_data_is_told_by_its_indexes(
    moto_table: Any, indexes: tuple[str, ...], expected: type
) -> None:
    name = f"empty-{len(indexes)}"
    definition = schema.table_key_definition()
    attributes = [*definition["AttributeDefinitions"]]
    secondary = []
    for index in indexes:
        attributes += [
            {"AttributeName": f"{index}PK", "AttributeType": "S"},
            {"AttributeName": f"{index}SK", "AttributeType": "S"},
        ]
        secondary.append(
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        )
    moto_table.client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=definition["KeySchema"],
        AttributeDefinitions=attributes,
        **({"GlobalSecondaryIndexes": secondary} if secondary else {}),
    )
    assert type(detect_table(moto_table.client, name, None).layout) is expected


@pytest.mark.parametrize(
    ("pk", "version"), [("_/SYSTEM#", "0.11.0"), ("SYSTEM#", "0.10.0"), ("SYSTEM#", "2.0.0")]
)
def test_an_unknown_schema_is_refused_naming_it(moto_table: Any, pk: str, version: str) -> None:
    moto_table.put_raw({"PK": {"S": pk}, "SK": {"S": "#VERSION"}, "schema_version": {"S": version}})
    with pytest.raises(UnsupportedTableError, match=version.replace(".", r"\.")):
        detect_table(moto_table.client, moto_table.name, None)
    answer = api_call("GET", "/resources")
    assert (answer["statusCode"], answer["json"]["code"]) == (503, "UnsupportedTable")
    assert version in answer["json"]["message"]


def test_an_operator_can_name_the_layout(moto_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_table.put_raw(
        {"PK": {"S": "SYSTEM#"}, "SK": {"S": "#VERSION"}, "schema_version": {"S": "9.9.9"}}
    )
    monkeypatch.setenv("TABLE_LAYOUT", "composite")
    assert put("gpt-4", [RPM])["statusCode"] == 200
    assert moto_table.client.get_item(
        TableName=moto_table.name, Key=schema.config_key("gpt-4")
    ).get("Item")
    monkeypatch.setenv("TABLE_LAYOUT", "sideways")
    service.reset()
    answer = put("gpt-4", [RPM])
    assert answer["statusCode"] == 503
    assert "TABLE_LAYOUT='sideways'" in answer["json"]["message"]


def test_the_etag_of_unchanged_limits_is_the_same_in_every_release() -> None:
    # Clients keep ETags for If-Match: a new digest would fail their next conditional write.
    rpm = Limit("rpm", 100, 150, 100, 60)
    tpm = Limit("tpm", 10_000, 10_000, 5_000, 30)
    assert StoredResource((rpm, tpm), 3).etag == "3-a4f1d679399c"
    assert StoredResource((rpm, tpm), 7, {"tpm": "scheduled"}).etag == "7-47dfa671075c"
    assert StoredResource((), 0).etag == "0-4f53cda18c2b"
