"""The DynamoDB statements each function's role holds: its actions, by partition (decision 12)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import aws_iam as iam

from handlers import routes
from resource_registry import schema

LEADING_KEYS = "dynamodb:LeadingKeys"
# Calls that name no partition of the table: a condition on its partition key cannot limit them
# (a Scan has no leading keys, and IAM's ForAllValues holds for an empty set of them).
UNKEYED_ACTIONS = frozenset({"dynamodb:Scan", "dynamodb:DescribeTable"})
# The partitions the functions touch, as IAM patterns built by the schema's own key builders:
# each without a namespace prefix (flat and composite tables) and under any namespace id
# (namespaced tables: "{id}/..."). IAM's '*' matches any characters, '/' and '#' among them, so
# "*/RESOURCE#*" alone would also match "{id}/BUCKET#{entity}#x/RESOURCE#0", zae-limiter's bucket
# partition of resource "x/RESOURCE" (a valid name). BUCKET_GUARD rules such partitions out: in a
# partition of ours no '/' is followed by two '#' (its one '#' ends its kind, RESOURCE#, SYSTEM#,
# AUDIT#, IDEMPOTENCY# or CHANGE_EVENTS#, and no namespace id, resource name or answer digest
# holds one), while in a bucket partition the id's '/' is followed by three. A one-'#'
# partition's kind is the text before its '#', and no entity id holds a '/' (zae-limiter's
# identifier rule), so "{id}/ENTITY#{entity}" and "{id}/AUDIT#{entity}" match none of the
# patterns; an unprefixed pattern ("RESOURCE#*") is anchored at the start, so only a partition of
# its kind matches it.
# See docs/decisions/0012-least-privilege-by-partition.md.
BUCKET_GUARD = "*/*#*#*"


@dataclass(frozen=True)
class TableAccess:
    """DynamoDB actions a function may call on the table: on partitions matching ``partitions``
    (IAM wildcards) and never on those matching ``excluding``, nor (``bucket_guard``) on
    zae-limiter's bucket partitions.

    Only a Scan, DescribeTable and a Query of an index (``index``) may go without partitions.
    """

    actions: tuple[str, ...]
    partitions: tuple[str, ...] = ()
    excluding: tuple[str, ...] = ()
    index: str | None = None  # on this index of the table instead of the table itself
    bucket_guard: bool = True

    def __post_init__(self) -> None:
        keyed = set(self.actions) - UNKEYED_ACTIONS
        if keyed and not self.partitions and self.index is None:
            raise ValueError(f"{sorted(keyed)} must name the partitions they may reach")

    def statement(self, table_arn: str) -> iam.PolicyStatement:
        """The IAM statement allowing these actions on the table, or on the one index named."""
        conditions: dict[str, dict[str, list[str]]] | None = None
        if self.partitions:
            conditions = {"ForAllValues:StringLike": {LEADING_KEYS: list(self.partitions)}}
            never = ([BUCKET_GUARD] if self.bucket_guard else []) + list(self.excluding)
            if never:
                conditions["ForAllValues:StringNotLike"] = {LEADING_KEYS: never}
        resource = f"{table_arn}/index/{self.index}" if self.index else table_arn
        return iam.PolicyStatement(
            actions=list(self.actions), resources=[resource], conditions=conditions
        )


ANY_NAMESPACE = schema.namespace_prefix("*")
ANY_RESOURCE = "*"


def _in_every_layout(pattern: Callable[[str], str]) -> tuple[str, ...]:
    """A partition's pattern with no namespace prefix, and under any namespace's."""
    return (pattern(""), pattern(ANY_NAMESPACE))


# A resource's limit items, version item or config item.
RESOURCE_PARTITIONS = _in_every_layout(lambda prefix: schema.resource_pk(ANY_RESOURCE, prefix))
# A namespace's registry and system config items; "*/SYSTEM#" also matches the namespace partition.
SYSTEM_PARTITIONS = _in_every_layout(schema.system_pk)
# A resource's audit events, "{prefix}AUDIT#$RESOURCE:{name}" (never an entity's: "AUDIT#{entity}").
AUDIT_PARTITIONS = _in_every_layout(lambda prefix: schema.audit_pk(ANY_RESOURCE, prefix))
# The record of an idempotent write's answer, "{prefix}IDEMPOTENCY#{digest}" (a SHA-256 in hex).
IDEMPOTENCY_PARTITIONS = _in_every_layout(
    lambda prefix: schema.idempotency_key("*", prefix)[schema.PARTITION_KEY]["S"]
)
# The mark of a resource's last published change event, "{prefix}CHANGE_EVENTS#{name}" (the
# healer's: resource_registry.change_events).
CHANGE_MARK_PARTITIONS = _in_every_layout(
    lambda prefix: schema.published_key(ANY_RESOURCE, prefix)[schema.PARTITION_KEY]["S"]
)
# An entity's partition (zae-limiter's), where its config items are: "{prefix}ENTITY#{id}".
ENTITY_PARTITIONS = _in_every_layout(lambda prefix: schema.entity_pk("*", prefix))
# zae-limiter's namespace items and its version record (namespaced tables), "_/SYSTEM#".
NAMESPACE_PARTITION = (schema.namespace_pk(),)
# What a cold start reads to tell the layout (resource_registry.detection): zae-limiter's version
# record under either key, the default namespace's item, the unprefixed registry and one
# resource's config item, then the table's indexes. The API functions resolve a namespace's id
# from the namespace partition too (resource_registry.namespaces).
LAYOUT_DETECTION = (
    TableAccess(
        ("dynamodb:GetItem",),
        (*NAMESPACE_PARTITION, schema.system_pk(), schema.resource_pk(ANY_RESOURCE)),
    ),
    TableAccess(("dynamodb:DescribeTable",)),
)
# What a set and a delete both write beside the resource's items, in the same transaction.
CHANGE_RECORDS = (
    # The change's audit event.
    TableAccess(("dynamodb:PutItem",), AUDIT_PARTITIONS),
    # With an Idempotency-Key: the answer recorded by a first attempt, read; this one's, put.
    TableAccess(("dynamodb:GetItem", "dynamodb:PutItem"), IDEMPOTENCY_PARTITIONS),
    # The registry update; the system config's audit retention.
    TableAccess(
        ("dynamodb:GetItem", "dynamodb:UpdateItem"),
        SYSTEM_PARTITIONS,
        excluding=NAMESPACE_PARTITION,
    ),
    # On a namespaced table, that the namespace is still active.
    TableAccess(("dynamodb:ConditionCheckItem",), NAMESPACE_PARTITION),
)
# TransactWriteItems is authorised per item action (Put, Update, Delete, ConditionCheck), each on
# its own item's partition, so the transactional handlers hold exactly the item actions their
# transactions contain, each on the partitions it writes. No function may put, update or delete
# in the namespace partition: a write only checks that its namespace is still active there.
TABLE_ACCESS: dict[str, tuple[TableAccess, ...]] = {
    # One GetItem of a namespace's registry.
    routes.LIST_RESOURCES.function_id: (TableAccess(("dynamodb:GetItem",), SYSTEM_PARTITIONS),),
    # One Query of the namespace items.
    routes.LIST_NAMESPACES.function_id: (TableAccess(("dynamodb:Query",), NAMESPACE_PARTITION),),
    # One Query of a resource's audit partition per page; when it finds no event, the resource's
    # own read (a flat Query, a composite GetItem): a resource without defaults either is 404.
    routes.GET_HISTORY.function_id: (
        TableAccess(("dynamodb:Query",), AUDIT_PARTITIONS),
        TableAccess(("dynamodb:Query", "dynamodb:GetItem"), RESOURCE_PARTITIONS),
    ),
    # A Query of a flat resource partition, then a GetItem of its version item (proof no write
    # landed while the Query read); a GetItem of a composite config item.
    routes.GET_DEFAULTS.function_id: (
        TableAccess(("dynamodb:Query", "dynamodb:GetItem"), RESOURCE_PARTITIONS),
    ),
    routes.SET_DEFAULTS.function_id: (
        # Read (and mark a config item another writer wrote), then put and delete limit items or
        # put the config item, update the version item.
        TableAccess(
            (
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ),
            RESOURCE_PARTITIONS,
        ),
        *CHANGE_RECORDS,
    ),
    routes.DELETE_DEFAULTS.function_id: (
        # Read (and mark a config item another writer wrote), then delete limit items or the
        # config item, or put one that keeps zae-limiter's flags without the limits;
        # ConditionCheckItem: the version check of each chunk when a partition outgrows one
        # transaction.
        TableAccess(
            (
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            ),
            RESOURCE_PARTITIONS,
        ),
        *CHANGE_RECORDS,
    ),
    # Read-only: one BatchGetItem of an entity's two config items, the resource's and the system
    # config (the layout and the namespace's id come from LAYOUT_DETECTION's reads).
    routes.GET_EFFECTIVE_LIMITS.function_id: (
        TableAccess(
            ("dynamodb:BatchGetItem",),
            (*ENTITY_PARTITIONS, *RESOURCE_PARTITIONS, *SYSTEM_PARTITIONS),
            excluding=NAMESPACE_PARTITION,
        ),
    ),
    routes.BACKFILL_FUNCTION_ID: (
        # Flat and composite tables: a parallel Scan of the whole table (a Scan names no
        # partition, so no condition can narrow it; it reads, and its filter returns resource
        # items only).
        TableAccess(("dynamodb:Scan",)),
        # Namespaced tables: each namespace's resources, from zae-limiter's keys-only index. The
        # condition key names the table's partition key, not the index's: nothing narrows it.
        TableAccess(("dynamodb:Query",), index=schema.GSI4_INDEX),
        # A resource's limits, read; ConditionCheckItem: that a limit still exists as the
        # registration or removal of its name assumes. Never a write. Also of a name the naming
        # rule refuses, which another program may have written ("a#b": the backfill counts those
        # that have defaults): the bucket guard would deny those reads, and a role that may Scan
        # the whole table gains nothing from it.
        TableAccess(
            ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:ConditionCheckItem"),
            RESOURCE_PARTITIONS,
            bucket_guard=False,
        ),
        # The registry, read and changed: backfill may update the registry item and nothing else
        # (never a limit of a resource).
        TableAccess(
            ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            SYSTEM_PARTITIONS,
            excluding=NAMESPACE_PARTITION,
        ),
        # The active namespaces, and that each is still active when its registry changes.
        TableAccess(("dynamodb:Query", "dynamodb:ConditionCheckItem"), NAMESPACE_PARTITION),
    ),
    # resource_registry.healer: per stream record, the resource's limits and the registry read,
    # then at most one repair transaction and one change event. A record's namespace comes from
    # its id's reverse item in "_/SYSTEM#", which LAYOUT_DETECTION's GetItem reaches.
    routes.HEALER_FUNCTION_ID: (
        # A resource's limits, read (flat: a Query of its partition; composite: its config item,
        # in the one BatchGetItem that also reads the registry, the change mark and the audit
        # event); ConditionCheckItem: that they are still as read when a repair commits.
        # Never a write of a limit.
        TableAccess(
            ("dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"),
            RESOURCE_PARTITIONS,
        ),
        # The registry, read and repaired (a name added or removed).
        TableAccess(
            ("dynamodb:BatchGetItem", "dynamodb:UpdateItem"),
            SYSTEM_PARTITIONS,
            excluding=NAMESPACE_PARTITION,
        ),
        # On a namespaced table, that the namespace is still active when a repair commits.
        TableAccess(("dynamodb:ConditionCheckItem",), NAMESPACE_PARTITION),
        # Who made a change: the audit event whose id the item's write mark holds.
        TableAccess(("dynamodb:BatchGetItem",), AUDIT_PARTITIONS),
        # The mark of each resource's last published change event, read and moved forward.
        TableAccess(("dynamodb:BatchGetItem", "dynamodb:UpdateItem"), CHANGE_MARK_PARTITIONS),
    ),
}
