"""Key builders and attribute names for every record this service reads or writes.

The layout is zae-limiter's flat schema (release 0.6); see docs/contract.md section 1. No key
string is spelled out anywhere else in the code base.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"

RESOURCE_PREFIX = "RESOURCE#"
LIMIT_PREFIX = "#LIMIT#"
SYSTEM_PARTITION = "SYSTEM#"
RESOURCES_SORT_KEY = "#RESOURCES"
# Bookkeeping for optimistic concurrency; its SK does not begin with #LIMIT#, so other readers
# (zae-limiter) ignore it.
VERSION_SORT_KEY = "#VERSION"

# Attributes of a limit item.
ATTR_RESOURCE = "resource"
ATTR_LIMIT_NAME = "limit_name"
ATTR_CAPACITY = "capacity"
ATTR_BURST = "burst"
ATTR_REFILL_AMOUNT = "refill_amount"
ATTR_REFILL_PERIOD_SECONDS = "refill_period_seconds"
ATTR_CONFIG_VERSION = "config_version"
# Attribute of the version item.
ATTR_VERSION = "version"
# Attribute of the registry item: a string set, absent when no resource has defaults.
ATTR_RESOURCES = "resources"

Key = dict[str, dict[str, str]]


def resource_pk(resource: str) -> str:
    """The partition key that holds a resource's default limits."""
    return f"{RESOURCE_PREFIX}{resource}"


def limit_sk(limit_name: str) -> str:
    """The sort key of one default limit."""
    return f"{LIMIT_PREFIX}{limit_name}"


def limit_key(resource: str, limit_name: str) -> Key:
    """The key of one default limit item of a resource."""
    return _key(resource_pk(resource), limit_sk(limit_name))


def version_key(resource: str) -> Key:
    """The key of a resource's version item (the ETag's source)."""
    return _key(resource_pk(resource), VERSION_SORT_KEY)


def registry_key() -> Key:
    """The key of the resource registry item."""
    return _key(SYSTEM_PARTITION, RESOURCES_SORT_KEY)


def resource_from_pk(pk: str) -> str | None:
    """The resource name in a resource partition key, or None for any other partition."""
    if pk.startswith(RESOURCE_PREFIX):
        return pk[len(RESOURCE_PREFIX) :]
    return None


def limit_name_from_sk(sk: str) -> str:
    """The limit name in a limit sort key."""
    return sk[len(LIMIT_PREFIX) :]


def is_limit_sk(sk: str) -> bool:
    """Whether a sort key is that of a default limit (as opposed to bookkeeping)."""
    return sk.startswith(LIMIT_PREFIX)


def table_key_definition() -> dict[str, Any]:
    """KeySchema and AttributeDefinitions of the table, in the DynamoDB API's shape."""
    return {
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
    }


def _key(pk: str, sk: str) -> Key:
    return {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}}
