"""Which layout a table uses: an operator's override, zae-limiter's version record, or its data.

Read once per process (a cold start): at most a few GetItems, and a DescribeTable of a table
without data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import UnsupportedTableError
from resource_registry.layouts import (
    LAYOUTS,
    CompositeLayout,
    FlatLayout,
    Layout,
    NamespacedLayout,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The environment variable (set by the CDK context value tableLayout) that skips detection.
LAYOUT_VARIABLE = "TABLE_LAYOUT"
# zae-limiter's schema_version values, as its releases write them in the version record. The
# record's key matters as much as the value: 0.8.0 is composite under SYSTEM# (0.8, 0.9) and
# namespaced under _/SYSTEM# (0.10.0). A table can hold both records (each release ignores the
# other's key), so the namespaced one is read first.
NAMESPACED_SCHEMAS: dict[str, type[Layout]] = dict.fromkeys(
    ("0.8.0", "0.9.0", "0.10.0"),  # 0.10.0; 0.10.1 to 0.10.3; 0.11 to 0.17
    NamespacedLayout,
)
UNPREFIXED_SCHEMAS: dict[str, type[Layout]] = {
    "1.0.0": FlatLayout,  # 0.6
    "0.7.0": FlatLayout,  # 0.7
    "0.8.0": CompositeLayout,  # 0.8, 0.9
}


def detect_layout(client: DynamoDBClient, table_name: str, override: str | None) -> Layout:
    """The layout of ``table_name``; UnsupportedTableError for a schema this service lacks."""
    if override:
        if override not in LAYOUTS:
            raise UnsupportedTableError(
                f"{LAYOUT_VARIABLE}={override!r} is not a layout this service knows "
                f"({', '.join(LAYOUTS)})"
            )
        return LAYOUTS[override](client, table_name)
    return _layout_class(client, table_name)(client, table_name)


def _layout_class(client: DynamoDBClient, table_name: str) -> type[Layout]:
    known_schemas = (NAMESPACED_SCHEMAS, UNPREFIXED_SCHEMAS)
    for key, known in zip(schema.schema_version_keys(), known_schemas, strict=True):
        record = _get(client, table_name, key)
        if record is not None:
            version = record.get(schema.ATTR_SCHEMA_VERSION, {}).get("S", "")
            if version not in known:
                raise UnsupportedTableError(
                    f"the table holds zae-limiter schema version {version!r} under "
                    f"{key[schema.PARTITION_KEY]['S']}, which this service does not know (it "
                    f"serves {', '.join(known)} there); upgrade the service, or set "
                    f"{LAYOUT_VARIABLE} if you know the layout"
                )
            return known[version]
    # Tables made by zae-limiter's create_table() alone have no version record: look at the data.
    if _get(client, table_name, schema.namespace_key(schema.DEFAULT_NAMESPACE)) is not None:
        return NamespacedLayout
    registry = _get(client, table_name, schema.registry_key()) or {}
    for resource in sorted(registry.get(schema.ATTR_RESOURCES, {}).get("SS", []))[:1]:
        if _get(client, table_name, schema.config_key(resource)) is not None:
            return CompositeLayout
    return _layout_by_indexes(client, table_name)


def _layout_by_indexes(client: DynamoDBClient, table_name: str) -> type[Layout]:
    """A table without data yet: each release's create_table gave it that release's indexes.

    Guessing flat here would write items a 0.8 or later zae-limiter never reads.
    """
    table = call_dynamodb(client.describe_table, TableName=table_name)["Table"]
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    if schema.GSI4_INDEX in indexes:
        return NamespacedLayout
    if schema.GSI3_INDEX in indexes:
        return CompositeLayout
    return FlatLayout


def _get(client: DynamoDBClient, table_name: str, key: schema.Key) -> dict[str, Any] | None:
    response = call_dynamodb(client.get_item, TableName=table_name, Key=key, ConsistentRead=True)
    item: dict[str, Any] | None = response.get("Item")
    return item
