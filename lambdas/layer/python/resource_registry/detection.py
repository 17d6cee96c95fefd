"""Which layout a table uses: an operator's override, zae-limiter's version record, or its data.

Read once per process (a cold start): at most a few GetItems, and a DescribeTable of a table
without data. The only place that decides a table's layout: nothing else defaults one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import UnsupportedTableError
from resource_registry.layouts import COMPOSITE, FLAT, LAYOUTS, NAMESPACED
from resource_registry.layouts.base import Layout
from resource_registry.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The environment variable (set by the CDK context value tableLayout) that skips detection.
LAYOUT_VARIABLE = "TABLE_LAYOUT"
# zae-limiter's version records, as each layout's releases write them. The record's key matters as
# much as its value: 0.8.0 is composite under SYSTEM# (0.8, 0.9) and namespaced under _/SYSTEM#
# (0.10.0). A table can hold both records (each release ignores the other's key), so the
# namespaced one is read first.
VERSION_RECORDS: dict[str, dict[str, Layout]] = {
    partition: {
        version: layout
        for layout in LAYOUTS.values()
        if layout.version_partition == partition
        for version in layout.schema_versions
    }
    for partition in (schema.namespace_pk(), schema.system_pk())
}


def detect_table(client: DynamoDBClient, table_name: str, override: str | None) -> Table:
    """The table ``table_name`` with its layout; UnsupportedTableError for a schema this service
    lacks. ``override`` (TABLE_LAYOUT) names the layout instead."""
    return Table(client, table_name, _layout(client, table_name, override))


def layout_named(name: str) -> Layout:
    """The layout an operator named; UnsupportedTableError for a name no layout has."""
    if name not in LAYOUTS:
        raise UnsupportedTableError(
            f"{LAYOUT_VARIABLE}={name!r} is not a layout this service knows ({', '.join(LAYOUTS)})"
        )
    return LAYOUTS[name]


def _layout(client: DynamoDBClient, table_name: str, override: str | None) -> Layout:
    if override:
        return layout_named(override)
    for partition, known in VERSION_RECORDS.items():
        key = schema.version_record_key(partition)
        record = _get(client, table_name, key)
        if record is not None:
            version = record.get(schema.ATTR_SCHEMA_VERSION, {}).get("S", "")
            if version not in known:
                raise UnsupportedTableError(
                    f"the table holds zae-limiter schema version {version!r} under {partition}, "
                    f"which this service does not know (it serves {', '.join(known)} there); "
                    f"upgrade the service, or set {LAYOUT_VARIABLE} if you know the layout"
                )
            return known[version]
    # Tables made by zae-limiter's create_table() alone have no version record: look at the data.
    if _get(client, table_name, schema.namespace_key(schema.DEFAULT_NAMESPACE)) is not None:
        return NAMESPACED
    registry = _get(client, table_name, schema.registry_key()) or {}
    for resource in sorted(registry.get(schema.ATTR_RESOURCES, {}).get("SS", []))[:1]:
        if _get(client, table_name, schema.config_key(resource)) is not None:
            return COMPOSITE
    return _layout_by_indexes(client, table_name)


def _layout_by_indexes(client: DynamoDBClient, table_name: str) -> Layout:
    """A table without data yet: each release's create_table gave it that release's indexes.

    Guessing flat here would write items a 0.8 or later zae-limiter never reads.
    """
    table = call_dynamodb(client.describe_table, TableName=table_name)["Table"]
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    if schema.GSI4_INDEX in indexes:
        return NAMESPACED
    if schema.GSI3_INDEX in indexes:
        return COMPOSITE
    return FLAT


def _get(client: DynamoDBClient, table_name: str, key: schema.Key) -> dict[str, Any] | None:
    response = call_dynamodb(client.get_item, TableName=table_name, Key=key, ConsistentRead=True)
    item: dict[str, Any] | None = response.get("Item")
    return item
