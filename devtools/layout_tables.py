"""Tables laid out as each zae-limiter layout lays them out, made without zae-limiter.

The interop tests use the released packages themselves; this is for what needs many fresh tables
fast (the race harness, injected faults, benchmarks): the version record (and, namespaced, the
default namespace) exactly as tests/interop/LAYOUTS.md says the releases write them.
"""

from __future__ import annotations

from typing import Any

from resource_registry import layouts, schema

LAYOUTS = tuple(layouts.LAYOUTS)
DEFAULT_NAMESPACE_ID = "dEfAuLt0001"
# The namespaces a new table of each layout has registered, by id; none where keys carry none.
REGISTERED_NAMESPACES = {layouts.NAMESPACED.name: {schema.DEFAULT_NAMESPACE: DEFAULT_NAMESPACE_ID}}


def create_layout_table(client: Any, name: str, layout: str) -> None:
    """A table with zae-limiter 0.17's GSI4, holding ``layout``'s version record."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=schema.table_key_definition()["KeySchema"],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in (
                schema.PARTITION_KEY,
                schema.SORT_KEY,
                schema.GSI4_PARTITION_KEY,
                schema.GSI4_SORT_KEY,
            )
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": schema.GSI4_INDEX,
                "KeySchema": [
                    {"AttributeName": schema.GSI4_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": schema.GSI4_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    # The version record as the layout's newest release writes it.
    laid_out = layouts.LAYOUTS[layout]
    client.put_item(
        TableName=name,
        Item={
            **schema.version_record_key(laid_out.version_partition),
            schema.ATTR_SCHEMA_VERSION: {"S": laid_out.schema_versions[-1]},
        },
    )
    for namespace, namespace_id in REGISTERED_NAMESPACES.get(layout, {}).items():
        add_namespace(client, name, namespace, namespace_id)


def add_namespace(client: Any, table: str, namespace: str, namespace_id: str) -> None:
    """An active namespace, as zae-limiter's register_namespace records it: its name to its id,
    and the reverse item, its id to its name."""
    for key in (schema.namespace_key(namespace), schema.namespace_id_key(namespace_id)):
        client.put_item(
            TableName=table,
            Item={
                **key,
                schema.ATTR_NAMESPACE_ID: {"S": namespace_id},
                schema.ATTR_NAMESPACE_NAME: {"S": namespace},
                schema.ATTR_NAMESPACE_STATUS: {"S": schema.NAMESPACE_ACTIVE},
            },
        )
