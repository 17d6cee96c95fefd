"""zae-limiter 0.8-0.9: one ``#CONFIG`` item per resource, a limit's fields as its attributes
(``l_{limit}_cp``, ``_bx``, ``_ra``, ``_rp``), beside attributes the API does not model.

A write puts the whole item, as zae-limiter's own writes do: the new limits, and every attribute
that is not part of the limits as it was read (``disabled``, ``cascade``, any other). Its
condition is the item's write mark, whatever the item's size: an item another writer wrote last
is marked first (docs/decisions/0011-a-write-mark-instead-of-comparing-every-limit.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from resource_registry import schema
from resource_registry.dynamodb import RetryableWriteError, call_dynamodb
from resource_registry.layouts.base import (
    Action,
    ConfigKeys,
    ConfigLevel,
    ConfiguredLimit,
    Found,
    Item,
    Layout,
    StoredResource,
    paged,
    segmented,
)
from resource_registry.layouts.expressions import Placeholders
from resource_registry.model import Limit, Namespace, Number, stored_number
from resource_registry.ulid import new_ulid

if TYPE_CHECKING:
    from resource_registry.table import Table

# What each field the API cannot represent makes of a limit, for the refusal's message.
UNREPRESENTABLE_DESCRIPTIONS = {
    "sched": "scheduled",
    "rsched": "reset on a schedule",
    "rsa": "windowed (reset_after)",
    "soft": "soft",
}
# The most limits one write holds: the item, with the longest names and numbers and a burst, is
# about 320 bytes a limit, and its audit event about 200; both stay under DynamoDB's 400 KB.
MAX_LIMITS = 1000


class CompositeLayout(Layout):
    """One config item per resource, a limit's fields as attributes, with a burst of its own."""

    name = "composite"
    version_partition = schema.system_pk()
    schema_versions: ClassVar[tuple[str, ...]] = ("0.8.0",)  # 0.8, 0.9
    max_limits = MAX_LIMITS

    def read(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        response = call_dynamodb(
            table.client.get_item,
            TableName=table.name,
            Key=schema.config_key(resource, namespace.prefix),
            ConsistentRead=True,
        )
        item: Item | None = response.get("Item")
        return self.parse([item] if item is not None else [])

    def parse(self, items: list[Item]) -> StoredResource:
        configs = [item for item in items if item[schema.SORT_KEY]["S"] == schema.CONFIG_SORT_KEY]
        if not configs:
            return StoredResource((), 0)
        (item,) = configs
        limits, unrepresentable = _config_limits(item)
        version = int(item.get(schema.ATTR_CONFIG_VERSION, {}).get("N", "0"))
        return StoredResource(
            limits, version, unrepresentable, items={schema.CONFIG_SORT_KEY: item}
        )

    def read_unchanging(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        # One item: a GetItem never sees half a write.
        return self.read(table, namespace, resource)

    def comparable(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> StoredResource:
        item = stored.items.get(schema.CONFIG_SORT_KEY)
        if item is None or schema.ATTR_WRITE_ID in item:
            return stored
        # Last written by another writer: mark it, then check that the marked item is the one
        # read and nothing else. From then on a write is conditioned on the mark alone, and any
        # rewrite of the item, which drops the mark, fails it.
        mark = new_ulid()
        response = _update_or_retry(
            table,
            Key=schema.config_key(resource, namespace.prefix),
            UpdateExpression="SET #mark = :mark",
            ConditionExpression="attribute_exists(#pk) AND attribute_not_exists(#mark)",
            ExpressionAttributeNames={"#pk": schema.PARTITION_KEY, "#mark": schema.ATTR_WRITE_ID},
            ExpressionAttributeValues={":mark": {"S": mark}},
            ReturnValues="ALL_NEW",
        )
        marked = {**item, schema.ATTR_WRITE_ID: {"S": mark}}
        if _canonical(response.get("Attributes", {})) != _canonical(marked):
            # Rewritten between the read and the mark: start over from a fresh read.
            raise RetryableWriteError("ConditionalCheckFailed", ["ConditionalCheckFailed"])
        return StoredResource(
            stored.limits,
            stored.version,
            stored.unrepresentable,
            items={schema.CONFIG_SORT_KEY: marked},
        )

    def write_actions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        limits: Sequence[Limit],
        *,
        write_id: str,
    ) -> list[Action]:
        stored_item = stored.items.get(schema.CONFIG_SORT_KEY, {})
        item: Item = {
            **schema.config_key(resource, namespace.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            # zae-limiter writes config_version 1 on every write; ours count up from what we read.
            schema.ATTR_CONFIG_VERSION: {"N": str(stored.version + 1)},
            schema.ATTR_WRITE_ID: {"S": write_id},
            **self.resource_keys(namespace, resource),
            **_kept(stored_item),
        }
        for limit in limits:
            for field_name, number in self.limit_fields(limit):
                item[schema.limit_attribute(limit.name, field_name)] = {"N": str(number)}
        placeholders = Placeholders()
        condition = _unchanged(placeholders, stored_item)
        put = {"TableName": table.name, "Item": item, "ConditionExpression": condition}
        return [{"Put": {**put, **placeholders.request()}}]

    def delete_transactions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        *,
        reserved: int,
        write_id: str,
    ) -> list[list[Action]]:
        stored_item = stored.items.get(schema.CONFIG_SORT_KEY, {})
        placeholders = Placeholders()
        condition = _unchanged(placeholders, stored_item)
        # The item stays, without its limits: with what zae-limiter keeps beside them (a disabled
        # flag), and the delete's own mark, which tells a reader of the table's stream who made
        # the change. zae-limiter reads a config item without limits as no limits at this level.
        item: Item = {
            **schema.config_key(resource, namespace.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_WRITE_ID: {"S": write_id},
            **self.resource_keys(namespace, resource),
            **_kept(stored_item),
        }
        put = {"TableName": table.name, "Item": item, "ConditionExpression": condition}
        return [[{"Put": {**put, **placeholders.request()}}]]

    def unchanged_check(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        placeholders = Placeholders()
        condition = _unchanged(placeholders, stored.items.get(schema.CONFIG_SORT_KEY, {}))
        check = {
            "TableName": table.name,
            "Key": schema.config_key(resource, namespace.prefix),
            "ConditionExpression": condition,
        }
        return {"ConditionCheck": {**check, **placeholders.request()}}

    def proof(self, stored: StoredResource) -> str:
        item = stored.items[schema.CONFIG_SORT_KEY]
        name, windowed = next(iter(sorted(schema.config_limit_names(item).items())))
        return schema.limit_attribute(name, schema.FIELD_CAPACITY, windowed)

    def proof_check(self, table: Table, namespace: Namespace, resource: str, proof: str) -> Action:
        return {
            "ConditionCheck": {
                "TableName": table.name,
                "Key": schema.config_key(resource, namespace.prefix),
                "ConditionExpression": "attribute_exists(#capacity)",
                "ExpressionAttributeNames": {"#capacity": proof},
            }
        }

    def holds_limits(self, sort_key: str) -> bool:
        return sort_key == schema.CONFIG_SORT_KEY

    def item_key(self, namespace: Namespace, resource: str) -> schema.Key | None:
        return schema.config_key(resource, namespace.prefix)

    def config_keys(self, namespace: Namespace, entity: str, resource: str) -> ConfigKeys:
        prefix = namespace.prefix
        return ConfigKeys(
            entity=schema.entity_config_key(entity, resource, prefix),
            entity_default=schema.entity_config_key(entity, schema.DEFAULT_RESOURCE, prefix),
            resource=schema.config_key(resource, prefix),
            system=schema.system_config_key(prefix),
        )

    def config_level(self, item: Item) -> ConfigLevel:
        limits, _ = _config_limits(item)
        windowed = schema.config_limit_names(item)
        return ConfigLevel(
            tuple(_configured(item, limit, windowed[limit.name]) for limit in limits),
            disabled=_disabled(item),
            cascade=_cascade(item),
            on_unavailable=_text(item, schema.ATTR_ON_UNAVAILABLE),
            schedule_time_zone=_text(item, schema.ATTR_SCHEDULE_TIME_ZONE),
        )

    def system_config_key(self, namespace: Namespace) -> schema.Key | None:
        return schema.system_config_key(namespace.prefix)

    def entity_config_counts_key(self, namespace: Namespace) -> schema.Key | None:
        return schema.entity_config_counts_key(namespace.prefix)

    def entity_config_count(self, item: Item, resource: str) -> int:
        # zae-limiter decrements before it removes a count at zero, so one may read below zero.
        text = item.get(resource, {}).get("N", "0")
        return max(0, int(stored_number(text)))

    def limits_change(
        self, old_image: Item | None, new_image: Item | None
    ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None] | None:
        before, after = (self._shown_limits(image) for image in (old_image, new_image))
        return None if before == after else (before, after)

    def _shown_limits(self, image: Item | None) -> list[dict[str, Any]] | None:
        stored = self.parse([image] if image else [])
        return [self.shown(limit) for limit in stored.limits] if stored.has_defaults else None

    def limit_fields(self, limit: Limit) -> list[tuple[str, Number]]:
        """The fields of a limit this layout stores, by attribute suffix."""
        return [
            (schema.FIELD_CAPACITY, limit.capacity),
            (schema.FIELD_REFILL_AMOUNT, limit.refill_amount),
            (schema.FIELD_REFILL_PERIOD, limit.refill_period_seconds),
            (schema.FIELD_BURST, limit.burst),
        ]

    def resource_keys(self, namespace: Namespace, resource: str) -> Item:
        """Keys a config item carries besides PK and SK, as zae-limiter writes them."""
        return {}

    def resource_page(
        self,
        table: Table,
        namespace: Namespace,
        segment: int,
        total_segments: int,
        *,
        start_key: dict[str, Any] | None,
        page_size: int | None,
    ) -> dict[str, Any]:
        # A config item's limits are attributes, so config items come whole (a Scan's cost is
        # the items it reads, whatever it returns).
        scan = segmented(
            {
                "TableName": table.name,
                "FilterExpression": "begins_with(#pk, :resource) AND #sk = :config",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
                "ExpressionAttributeValues": {
                    ":resource": {"S": schema.RESOURCE_PREFIX},
                    ":config": {"S": schema.CONFIG_SORT_KEY},
                },
            },
            segment,
            total_segments,
        )
        paged(scan, start_key, page_size)
        return cast(dict[str, Any], call_dynamodb(table.client.scan, **scan))

    def found(self, namespace: Namespace, item: Item) -> Found | None:
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], namespace.prefix)
        if resource is None or item[schema.SORT_KEY]["S"] != schema.CONFIG_SORT_KEY:
            return None
        names = schema.config_limit_names(item)
        if not names:
            return None  # a config item without limits: no defaults
        name, windowed = sorted(names.items())[0]
        return resource, schema.limit_attribute(name, schema.FIELD_CAPACITY, windowed)


def _config_limits(item: Item) -> tuple[tuple[Limit, ...], dict[str, str]]:
    """The limits on a config item, and those of them the API cannot represent (with why)."""
    limits: list[Limit] = []
    unrepresentable: dict[str, str] = {}
    item_schedule = [name for name in schema.ITEM_SCHEDULE_ATTRIBUTES if name in item]
    for name, windowed in sorted(schema.config_limit_names(item).items()):
        fields = {
            field_name: stored_number(value["N"])
            for field_name in schema.NUMBER_FIELDS
            if "N" in (value := item.get(schema.limit_attribute(name, field_name, windowed), {}))
        }
        capacity = fields.get(schema.FIELD_CAPACITY, 0)
        limits.append(
            Limit(
                name=name,
                capacity=capacity,
                burst=fields.get(schema.FIELD_BURST, capacity),
                refill_amount=fields.get(schema.FIELD_REFILL_AMOUNT, capacity),
                refill_period_seconds=fields.get(schema.FIELD_REFILL_PERIOD, 0),
            )
        )
        special = [
            field_name
            for field_name in schema.UNREPRESENTABLE_FIELDS
            if _is_set(item.get(schema.limit_attribute(name, field_name, windowed)))
        ]
        if windowed:
            unrepresentable[name] = "windowed (reset_after)"
        elif special:
            unrepresentable[name] = ", ".join(
                UNREPRESENTABLE_DESCRIPTIONS[field_name] for field_name in special
            )
        elif item_schedule:
            unrepresentable[name] = "under a resource-level schedule"
    return tuple(limits), unrepresentable


def _configured(item: Item, limit: Limit, windowed: bool) -> ConfiguredLimit:
    """A limit with what zae-limiter reads beside its numbers, as it reads them."""

    def stored(field_name: str) -> dict[str, Any]:
        value: dict[str, Any] = item.get(
            schema.limit_attribute(limit.name, field_name, windowed), {}
        )
        return value

    window = stored(schema.FIELD_RESET_AFTER).get("N")
    return ConfiguredLimit(
        limit,
        soft=bool(stored(schema.FIELD_SOFT).get("BOOL", False)),
        schedule=stored(schema.FIELD_SCHEDULE).get("S") or None,
        reset_schedule=stored(schema.FIELD_RESET_SCHEDULE).get("S") or None,
        reset_after_seconds=stored_number(window) if window is not None else None,
    )


def _disabled(item: Item) -> bool | str | None:
    """The access flag as zae-limiter decodes it: absent inherits, a string other than "bypass"
    reads as an explicit False (what a reader before 0.17 makes of "bypass")."""
    value = item.get(schema.ATTR_DISABLED)
    if not value:
        return None
    if value.get("S") == schema.DISABLED_BYPASS:
        return schema.DISABLED_BYPASS
    return bool(value.get("BOOL", False))


def _cascade(item: Item) -> bool | None:
    value = item.get(schema.ATTR_CASCADE)
    return bool(value.get("BOOL", False)) if value else None


def _text(item: Item, attribute: str) -> str | None:
    text: str | None = item.get(attribute, {}).get("S") or None
    return text


def _is_set(value: dict[str, Any] | None) -> bool:
    return value is not None and value != {"BOOL": False}


# Written by every write of ours: a write never keeps them from the item it replaces.
_REWRITTEN = frozenset(
    {
        schema.PARTITION_KEY,
        schema.SORT_KEY,
        schema.ATTR_RESOURCE,
        schema.ATTR_CONFIG_VERSION,
        schema.ATTR_WRITE_ID,
        schema.GSI4_PARTITION_KEY,
        schema.GSI4_SORT_KEY,
    }
)


def _kept(item: Item) -> Item:
    """What a write keeps of the item it replaces: every attribute not of the limits and not
    rewritten (``disabled``, ``cascade``, and any the service does not know)."""
    return {
        attribute: value
        for attribute, value in item.items()
        if attribute not in _REWRITTEN and not schema.is_limits_attribute(attribute)
    }


def _unchanged(placeholders: Placeholders, item: Item) -> str:
    """The condition that a config item is still as read: absent, or carrying the same write
    mark (zae-limiter's writes of limits rewrite the whole item, which drops it), with the
    attributes a write keeps, which zae-limiter changes in place, unchanged too.

    An item without a mark (``comparable`` marks every item a write replaces) is compared
    attribute by attribute: the prune's check of a config item without limits.
    """
    if not item:
        return f"attribute_not_exists({placeholders.name(schema.PARTITION_KEY)})"
    if schema.ATTR_WRITE_ID in item:
        terms = [placeholders.equals(schema.ATTR_WRITE_ID, item[schema.ATTR_WRITE_ID])]
        terms += [placeholders.equals(attribute, value) for attribute, value in _kept(item).items()]
    else:
        terms = [f"attribute_not_exists({placeholders.name(schema.ATTR_WRITE_ID)})"]
        terms += [
            placeholders.equals(attribute, value)
            for attribute, value in sorted(item.items())
            if attribute not in (schema.PARTITION_KEY, schema.SORT_KEY)
        ]
    terms += [
        f"attribute_not_exists({placeholders.name(attribute)})"
        for attribute in schema.IN_PLACE_ATTRIBUTES
        if attribute not in item
    ]
    return " AND ".join(terms)


def _canonical(item: Item) -> Item:
    """An item comparable with another read of it: set members in order (DynamoDB keeps none)."""
    return {
        attribute: {kind: sorted(members) if kind in ("SS", "NS", "BS") else members}
        for attribute, value in item.items()
        for kind, members in value.items()
    }


def _update_or_retry(table: Table, **update: Any) -> dict[str, Any]:
    """One conditional UpdateItem; a failed condition starts the write over from a fresh read."""
    try:
        return cast(
            dict[str, Any], call_dynamodb(table.client.update_item, TableName=table.name, **update)
        )
    except table.client.exceptions.ConditionalCheckFailedException as error:
        raise RetryableWriteError("ConditionalCheckFailed", ["ConditionalCheckFailed"]) from error
