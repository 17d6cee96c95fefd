"""Tables as zae-limiter's releases make them, made without zae-limiter.

Each layout's table is what its release's ``Repository.create_table()`` defines (keys, indexes,
stream), holding what the release's first start writes: its version record and, namespaced, the
namespaces, as ``register_namespace`` writes them. ``make run`` creates its table here, and so do
the tests and benchmarks that need many fresh tables fast. What each release writes was read from
the released packages (tests/interop/LAYOUTS.md); tests/interop/test_local_tables.py compares these
tables with the ones the releases make themselves.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import Any

from resource_registry import schema

LAYOUTS = ("flat", "composite", "namespaced")
# The release each layout's tables are made as.
RELEASES = {"flat": "0.6.0", "composite": "0.9.1", "namespaced": "0.17.0"}
# The namespaces a new namespaced table of `make run` has, so the README's examples work.
LOCAL_NAMESPACES = (schema.DEFAULT_NAMESPACE, "prod")
# The tests' tables give `default` a known id, so that they can write its items themselves, and
# their system items a known time, so that two tables made alike compare equal item for item.
DEFAULT_NAMESPACE_ID = "dEfAuLt0001"
KNOWN_TIME = "2026-01-01T00:00:00Z"
# Each release's indexes, in its create_table's order: zae-limiter names an index's key
# attributes after it (GSI4PK, GSI4SK; LSI1SK under the table's PK).
GLOBAL_INDEXES = {
    "flat": (("GSI1", "ALL"), ("GSI2", "ALL")),
    "composite": (("GSI1", "ALL"), ("GSI2", "ALL"), (schema.GSI3_INDEX, "KEYS_ONLY")),
    "namespaced": (
        ("GSI1", "ALL"),
        ("GSI2", "ALL"),
        (schema.GSI3_INDEX, "KEYS_ONLY"),
        (schema.GSI4_INDEX, "KEYS_ONLY"),
    ),
}
LOCAL_INDEXES = {
    "flat": (),
    "composite": (),
    "namespaced": (
        ("LSI1", "ALL"),
        ("LSI2", "KEYS_ONLY"),
        ("LSI3", "ALL"),
        ("LSI4", "KEYS_ONLY"),
        ("LSI5", "ALL"),
    ),
}
# Where each release keeps its version record, its schema version, and the Lambda version it
# records when it starts without a stack (0.9.1 records its own; 0.6.0 and 0.17.0 none).
VERSION_RECORDS = {
    "flat": ("SYSTEM#", "1.0.0", None),
    "composite": ("SYSTEM#", "0.8.0", "0.9.1"),
    "namespaced": ("_/SYSTEM#", "0.10.0", None),
}
# What each release writes as its own version in the record: the 0.6.0 wheel's __version__
# is "0.0.0+unknown".
CLIENT_VERSIONS = {"flat": "0.0.0+unknown", "composite": "0.9.1", "namespaced": "0.17.0"}
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
# The layouts whose releases register namespaces (and give their table-level items GSI4 keys).
WITH_NAMESPACES = frozenset({"namespaced"})


def table_definition(name: str, layout: str) -> dict[str, Any]:
    """The CreateTable arguments of ``layout``'s release's ``Repository.create_table()``."""
    global_indexes = GLOBAL_INDEXES[layout]
    local_indexes = LOCAL_INDEXES[layout]
    attributes = [schema.PARTITION_KEY, schema.SORT_KEY]
    for index, _ in global_indexes:
        attributes += [f"{index}PK", f"{index}SK"]
    attributes += [f"{index}SK" for index, _ in local_indexes]
    definition: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in attributes
        ],
        "KeySchema": schema.table_key_definition()["KeySchema"],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": projection},
            }
            for index, projection in global_indexes
        ],
        "StreamSpecification": STREAM,
    }
    if local_indexes:
        definition["LocalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": projection},
            }
            for index, projection in local_indexes
        ]
    return definition


def version_record(layout: str, at: str | None = None) -> dict[str, Any]:
    """The version record ``layout``'s release writes on its first start against the table, at
    time ``at`` (default now)."""
    partition, schema_version, lambda_version = VERSION_RECORDS[layout]
    item: dict[str, Any] = {
        schema.PARTITION_KEY: {"S": partition},
        schema.SORT_KEY: {"S": schema.VERSION_SORT_KEY},
        schema.ATTR_SCHEMA_VERSION: {"S": schema_version},
        "client_min_version": {"S": "0.0.0"},
        "lambda_version": {"S": lambda_version} if lambda_version else {"NULL": True},
        "updated_at": {"S": at or _now()},
        "updated_by": {"S": f"client:{CLIENT_VERSIONS[layout]}"},
    }
    if layout in WITH_NAMESPACES:
        item |= _reserved_gsi4_keys()
    return item


def create_layout_table(client: Any, name: str, layout: str) -> None:
    """A table as ``layout``'s release makes it, with its version record; namespaced, with the
    namespace ``default`` under DEFAULT_NAMESPACE_ID. Its system items are dated KNOWN_TIME."""
    _create(client, name, layout, KNOWN_TIME)
    if layout in WITH_NAMESPACES:
        add_namespace(client, name, schema.DEFAULT_NAMESPACE, DEFAULT_NAMESPACE_ID, KNOWN_TIME)


def create_zae_limiter_table(
    client: Any, name: str, layout: str, namespaces: tuple[str, ...] = LOCAL_NAMESPACES
) -> dict[str, str]:
    """A table as ``layout``'s release makes it and first starts on it; namespaced, with
    ``namespaces`` registered as zae-limiter registers them. Their ids, by name."""
    _create(client, name, layout)
    if layout not in WITH_NAMESPACES:
        return {}
    return {namespace: register_namespace(client, name, namespace) for namespace in namespaces}


def register_namespace(client: Any, table: str, namespace: str) -> str:
    """The id of ``namespace``, registered under a new id as zae-limiter 0.17 does when it is
    missing: ``secrets.token_urlsafe(8)``, never starting with '-'."""
    namespace_id = secrets.token_urlsafe(8)
    while namespace_id.startswith("-"):
        namespace_id = secrets.token_urlsafe(8)
    try:
        add_namespace(client, table, namespace, namespace_id)
    except client.exceptions.TransactionCanceledException:
        existing = client.get_item(
            TableName=table, Key=schema.namespace_key(namespace), ConsistentRead=True
        )
        return str(existing["Item"][schema.ATTR_NAMESPACE_ID]["S"])
    return namespace_id


def add_namespace(
    client: Any, table: str, namespace: str, namespace_id: str, at: str | None = None
) -> None:
    """An active namespace, as zae-limiter 0.17's register_namespace records it: a name-to-id
    item and an id-to-name item, created at ``at`` (default now), in one transaction that fails
    if either exists."""
    attributes = {
        schema.ATTR_NAMESPACE_ID: {"S": namespace_id},
        schema.ATTR_NAMESPACE_NAME: {"S": namespace},
        schema.ATTR_NAMESPACE_STATUS: {"S": schema.NAMESPACE_ACTIVE},
        "created_at": {"S": at or _now()},
        **_reserved_gsi4_keys(),
    }
    keys = (schema.namespace_key(namespace), schema.namespace_id_key(namespace_id))
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {**key, **attributes},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for key in keys
        ]
    )


def _create(client: Any, name: str, layout: str, at: str | None = None) -> None:
    # A resent CreateTable whose first attempt landed finds the table: as zae-limiter's own
    # create_table does, keep it.
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(**table_definition(name, layout))
    client.get_waiter("table_exists").wait(TableName=name)
    client.put_item(
        TableName=name,
        Item=version_record(layout, at),
        ConditionExpression="attribute_not_exists(PK)",
    )


def _reserved_gsi4_keys() -> dict[str, Any]:
    """The GSI4 keys of zae-limiter's table-level items, under the reserved namespace."""
    return {
        schema.GSI4_PARTITION_KEY: {"S": schema.RESERVED_NAMESPACE},
        schema.GSI4_SORT_KEY: {"S": schema.namespace_pk()},
    }


def _now() -> str:
    """A time as zae-limiter writes it in its system items: UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
