"""Key builders and attribute names for every record this service reads or writes.

zae-limiter's table has had three layouts (docs/contract.md, "Table layouts"): flat limit items
(0.6-0.7), one ``#CONFIG`` item per resource (0.8-0.9), and the same under a namespace id prefix
with GSI4 keys (0.10 and later). Every key string of all three is spelled out here and nowhere else.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
# zae-limiter's namespace-scoped discovery index (keys only), on namespaced tables.
GSI4_INDEX = "GSI4"
# The index zae-limiter 0.8's create_table added (0.6 has GSI1-2, 0.10 and later also GSI4).
GSI3_INDEX = "GSI3"
GSI4_PARTITION_KEY = "GSI4PK"
GSI4_SORT_KEY = "GSI4SK"

RESOURCE_PREFIX = "RESOURCE#"
LIMIT_PREFIX = "#LIMIT#"
SYSTEM_PARTITION = "SYSTEM#"
RESOURCES_SORT_KEY = "#RESOURCES"
CONFIG_SORT_KEY = "#CONFIG"
# The resource's version item on the flat layout, and zae-limiter's version record in SYSTEM#.
# A resource's version item's SK does not begin with #LIMIT#, so zae-limiter ignores it.
VERSION_SORT_KEY = "#VERSION"
# Audit events: one partition per resource, one item per event (zae-limiter's own layout).
AUDIT_PREFIX = "AUDIT#"
AUDIT_SORT_PREFIX = "#AUDIT#"
RESOURCE_ENTITY_PREFIX = "$RESOURCE:"
# This service's record of an idempotent write's answer: one partition per key (a digest of the
# client's key), which zae-limiter never reads; it expires with the table's TTL (`ttl`).
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
IDEMPOTENCY_SORT_KEY = "#ANSWER"
# This service's mark of the last change event it published for a resource: the stream sequence
# number of that change, so a redelivered record publishes nothing twice.
CHANGE_EVENTS_PREFIX = "CHANGE_EVENTS#"
PUBLISHED_SORT_KEY = "#PUBLISHED"
ATTR_SEQUENCE = "sequence"
# zae-limiter's config hierarchy (0.8 and later), what the effective view reads: an entity's
# config per resource (ENTITY#{id} / #CONFIG#{resource}), its config for every resource without
# one of its own (resource "_default_"), the resource's #CONFIG item and the namespace's system
# config (SYSTEM# / #CONFIG).
ENTITY_PREFIX = "ENTITY#"
ENTITY_CONFIG_SORT_PREFIX = f"{CONFIG_SORT_KEY}#"
DEFAULT_RESOURCE = "_default_"
# zae-limiter's count of entity config items per resource (0.8 and later), in the system
# partition: one number attribute named after each resource ("_default_" among them).
ENTITY_CONFIG_RESOURCES_SORT_KEY = "#ENTITY_CONFIG_RESOURCES"
# Namespaces (namespaced layout): items under the reserved namespace "_".
RESERVED_NAMESPACE = "_"
DEFAULT_NAMESPACE = "default"
NAMESPACE_SORT_PREFIX = "#NAMESPACE#"
# The reverse item of a namespace: its id to its name.
NAMESPACE_ID_SORT_PREFIX = "#NSID#"

# Attributes of a flat limit item.
ATTR_RESOURCE = "resource"
ATTR_LIMIT_NAME = "limit_name"
ATTR_CAPACITY = "capacity"
ATTR_BURST = "burst"
ATTR_REFILL_AMOUNT = "refill_amount"
ATTR_REFILL_PERIOD_SECONDS = "refill_period_seconds"
ATTR_CONFIG_VERSION = "config_version"
# Attribute of the flat layout's version item.
ATTR_VERSION = "version"
# Attribute of the registry item: a string set, absent when no resource has defaults.
ATTR_RESOURCES = "resources"
# Attributes of an audit event.
ATTR_ENTITY_ID = "entity_id"
ATTR_EVENT_ID = "event_id"
ATTR_TIMESTAMP = "timestamp"
ATTR_ACTION = "action"
ATTR_PRINCIPAL = "principal"
ATTR_DETAILS = "details"
ATTR_TTL = "ttl"
ACTION_LIMITS_SET = "limits_set"
ACTION_LIMITS_DELETED = "limits_deleted"
# Attributes of an idempotency record: what the request was, what it answered.
ATTR_FINGERPRINT = "fingerprint"
ATTR_ANSWER = "answer"
# Attribute of a namespace's system config item (zae-limiter 0.8 and later): the audit retention.
ATTR_AUDIT_RETENTION_DAYS = "audit_retention_days"
# Attributes of config items that zae-limiter reads beside the limits: the tri-state access flag
# (true, false or "bypass"; absent: inherit), the tri-state cascade policy, and on the system
# config what a client does while DynamoDB is unavailable ("allow" or "block").
ATTR_DISABLED = "disabled"
ATTR_CASCADE = "cascade"
ATTR_ON_UNAVAILABLE = "on_unavailable"
DISABLED_BYPASS = "bypass"
# Attribute of zae-limiter's version record.
ATTR_SCHEMA_VERSION = "schema_version"
# Attributes of a namespace item.
ATTR_NAMESPACE_ID = "namespace_id"
ATTR_NAMESPACE_NAME = "namespace_name"
ATTR_NAMESPACE_STATUS = "status"
NAMESPACE_ACTIVE = "active"

# A composite config item stores limit ``x`` as l_x_cp, l_x_ra, l_x_rp (and l_x_bx on 0.8-0.9);
# a windowed limit (reset_after) under w_ instead of l_.
LIMIT_ATTRIBUTE_PREFIX = "l_"
WINDOWED_LIMIT_ATTRIBUTE_PREFIX = "w_"
FIELD_CAPACITY = "cp"
FIELD_BURST = "bx"
FIELD_REFILL_AMOUNT = "ra"
FIELD_REFILL_PERIOD = "rp"
NUMBER_FIELDS = (FIELD_CAPACITY, FIELD_BURST, FIELD_REFILL_AMOUNT, FIELD_REFILL_PERIOD)
# Fields of a limit the API cannot represent: a schedule, a reset schedule or window, a soft flag.
FIELD_SCHEDULE = "sched"
FIELD_RESET_SCHEDULE = "rsched"
FIELD_RESET_AFTER = "rsa"
FIELD_SOFT = "soft"
UNREPRESENTABLE_FIELDS = (FIELD_SCHEDULE, FIELD_RESET_SCHEDULE, FIELD_RESET_AFTER, FIELD_SOFT)
# Item-level schedules of a config item: they too change what its limits mean.
ITEM_SCHEDULE_ATTRIBUTES = ("sched", "rsched")
# The schedules' time zone, hoisted to the item: part of the limits, as the schedules are.
ATTR_SCHEDULE_TIME_ZONE = "sched_tz"
# Attributes of a config item that zae-limiter changes in place (UpdateItem), not by rewriting the
# whole item: the resource's disabled flag and cascade policy.
IN_PLACE_ATTRIBUTES = (ATTR_DISABLED, ATTR_CASCADE)
# This service's mark on a config item it wrote: the id of that write (its audit event's id). Every
# zae-limiter write of a resource's limits rewrites the whole item, which drops the mark, so a
# write conditioned on it fails after any other writer's (docs/decisions/0011).
ATTR_WRITE_ID = "rr_write_id"

Key = dict[str, dict[str, str]]


def namespace_prefix(namespace_id: str | None) -> str:
    """The prefix of every key in a namespace: ``{id}/`` on the namespaced layout, else empty."""
    return f"{namespace_id}/" if namespace_id is not None else ""


def resource_pk(resource: str, prefix: str = "") -> str:
    """The partition key that holds a resource's default limits."""
    return f"{prefix}{RESOURCE_PREFIX}{resource}"


def system_pk(prefix: str = "") -> str:
    """The partition of a namespace's system records (the registry among them)."""
    return f"{prefix}{SYSTEM_PARTITION}"


def limit_sk(limit_name: str) -> str:
    """The sort key of one flat default limit."""
    return f"{LIMIT_PREFIX}{limit_name}"


def limit_key(resource: str, limit_name: str, prefix: str = "") -> Key:
    """The key of one flat default limit item of a resource."""
    return _key(resource_pk(resource, prefix), limit_sk(limit_name))


def version_key(resource: str, prefix: str = "") -> Key:
    """The key of a resource's version item (flat layout)."""
    return _key(resource_pk(resource, prefix), VERSION_SORT_KEY)


def config_key(resource: str, prefix: str = "") -> Key:
    """The key of a resource's composite config item."""
    return _key(resource_pk(resource, prefix), CONFIG_SORT_KEY)


def registry_key(prefix: str = "") -> Key:
    """The key of a namespace's resource registry item."""
    return _key(system_pk(prefix), RESOURCES_SORT_KEY)


def system_config_key(prefix: str = "") -> Key:
    """The key of a namespace's system config item (where the audit retention is set)."""
    return _key(system_pk(prefix), CONFIG_SORT_KEY)


def entity_pk(entity: str, prefix: str = "") -> str:
    """The partition of an entity (zae-limiter's): its config items among its records."""
    return f"{prefix}{ENTITY_PREFIX}{entity}"


def entity_config_key(entity: str, resource: str, prefix: str = "") -> Key:
    """The key of an entity's config item for one resource (``_default_``: every other one)."""
    return _key(entity_pk(entity, prefix), f"{ENTITY_CONFIG_SORT_PREFIX}{resource}")


def entity_config_counts_key(prefix: str = "") -> Key:
    """The key of zae-limiter's count of entity config items per resource."""
    return _key(system_pk(prefix), ENTITY_CONFIG_RESOURCES_SORT_KEY)


def resource_entity_id(resource: str) -> str:
    """The entity id zae-limiter files a resource's audit events under."""
    return f"{RESOURCE_ENTITY_PREFIX}{resource}"


def audit_pk(resource: str, prefix: str = "") -> str:
    """The partition of a resource's audit events."""
    return f"{prefix}{AUDIT_PREFIX}{resource_entity_id(resource)}"


def audit_sk(event_id: str) -> str:
    """The sort key of one audit event: ULIDs sort by time."""
    return f"{AUDIT_SORT_PREFIX}{event_id}"


def idempotency_key(digest: str, prefix: str = "") -> Key:
    """The key of the record of an idempotent write, by the digest of its idempotency key."""
    return _key(f"{prefix}{IDEMPOTENCY_PREFIX}{digest}", IDEMPOTENCY_SORT_KEY)


def published_key(resource: str, prefix: str = "") -> Key:
    """The key of the mark of a resource's last published change event."""
    return _key(f"{prefix}{CHANGE_EVENTS_PREFIX}{resource}", PUBLISHED_SORT_KEY)


def audit_key(resource: str, event_id: str, prefix: str = "") -> Key:
    """The key of one audit event of a resource."""
    return _key(audit_pk(resource, prefix), audit_sk(event_id))


def version_record_key(partition: str) -> Key:
    """The key of zae-limiter's version record in ``partition`` (SYSTEM#, or _/SYSTEM# on
    namespaced tables)."""
    return _key(partition, VERSION_SORT_KEY)


def namespace_pk() -> str:
    """The partition of the namespace items."""
    return system_pk(namespace_prefix(RESERVED_NAMESPACE))


def namespace_key(name: str) -> Key:
    """The key of the item that maps a namespace name to its id."""
    return _key(namespace_pk(), f"{NAMESPACE_SORT_PREFIX}{name}")


def namespace_id_key(namespace_id: str) -> Key:
    """The key of the item that maps a namespace id back to its name."""
    return _key(namespace_pk(), f"{NAMESPACE_ID_SORT_PREFIX}{namespace_id}")


def resource_from_pk(pk: str, prefix: str = "") -> str | None:
    """The resource name in a resource partition key, or None for any other partition."""
    head = f"{prefix}{RESOURCE_PREFIX}"
    if pk.startswith(head):
        return pk[len(head) :]
    return None


def limit_name_from_sk(sk: str) -> str:
    """The limit name in a flat limit sort key."""
    return sk[len(LIMIT_PREFIX) :]


def is_limit_sk(sk: str) -> bool:
    """Whether a sort key is that of a flat default limit (as opposed to bookkeeping)."""
    return sk.startswith(LIMIT_PREFIX)


def limit_attribute(limit_name: str, field: str, windowed: bool = False) -> str:
    """The name of one field of a limit on a composite config item."""
    prefix = WINDOWED_LIMIT_ATTRIBUTE_PREFIX if windowed else LIMIT_ATTRIBUTE_PREFIX
    return f"{prefix}{limit_name}_{field}"


def config_limit_names(item: dict[str, Any]) -> dict[str, bool]:
    """The limits a config item stores (found by their capacity), and whether each is windowed."""
    names: dict[str, bool] = {}
    suffix = f"_{FIELD_CAPACITY}"
    for attribute in item:
        if not attribute.endswith(suffix):
            continue
        for prefix, windowed in (
            (LIMIT_ATTRIBUTE_PREFIX, False),
            (WINDOWED_LIMIT_ATTRIBUTE_PREFIX, True),
        ):
            name = attribute[len(prefix) : -len(suffix)]
            if attribute.startswith(prefix) and name:
                names[name] = windowed
    return names


def is_limit_attribute(attribute: str) -> bool:
    """Whether a config item attribute belongs to a limit (l_* or w_*)."""
    return attribute.startswith((LIMIT_ATTRIBUTE_PREFIX, WINDOWED_LIMIT_ATTRIBUTE_PREFIX))


def is_limits_attribute(attribute: str) -> bool:
    """Whether a config item attribute is part of its limits: a limit's, or an item-level
    schedule's (what a write of the limits replaces)."""
    return is_limit_attribute(attribute) or attribute in (
        *ITEM_SCHEDULE_ATTRIBUTES,
        ATTR_SCHEDULE_TIME_ZONE,
    )


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
