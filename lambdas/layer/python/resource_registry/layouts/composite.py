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
from resource_registry.layouts import config_items, config_writes
from resource_registry.layouts.base import Action, Layout
from resource_registry.layouts.expressions import Placeholders
from resource_registry.layouts.pages import paged, segmented
from resource_registry.layouts.stored import ConfigKeys, ConfigLevel, Found, Item, StoredResource
from resource_registry.model import Limit, Namespace, Number, stored_number
from resource_registry.ulid import new_ulid

if TYPE_CHECKING:
    from resource_registry.table import Table

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
        limits, unrepresentable = config_items.config_limits(item)
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
        read_back = config_writes.canonical(response.get("Attributes", {}))
        if read_back != config_writes.canonical(marked):
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
            **config_writes.kept(stored_item),
        }
        for limit in limits:
            for field_name, number in self.limit_fields(limit):
                item[schema.limit_attribute(limit.name, field_name)] = {"N": str(number)}
        placeholders = Placeholders()
        condition = config_writes.unchanged(placeholders, stored_item)
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
        condition = config_writes.unchanged(placeholders, stored_item)
        # The item stays, without its limits: with what zae-limiter keeps beside them (a disabled
        # flag), and the delete's own mark, which tells a reader of the table's stream who made
        # the change. zae-limiter reads a config item without limits as no limits at this level.
        item: Item = {
            **schema.config_key(resource, namespace.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_WRITE_ID: {"S": write_id},
            **self.resource_keys(namespace, resource),
            **config_writes.kept(stored_item),
        }
        put = {"TableName": table.name, "Item": item, "ConditionExpression": condition}
        return [[{"Put": {**put, **placeholders.request()}}]]

    def unchanged_check(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        placeholders = Placeholders()
        condition = config_writes.unchanged(
            placeholders, stored.items.get(schema.CONFIG_SORT_KEY, {})
        )
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
        limits, _ = config_items.config_limits(item)
        windowed = schema.config_limit_names(item)
        return ConfigLevel(
            tuple(config_items.configured(item, limit, windowed[limit.name]) for limit in limits),
            disabled=config_items.disabled(item),
            cascade=config_items.cascade(item),
            on_unavailable=config_items.text(item, schema.ATTR_ON_UNAVAILABLE),
            schedule_time_zone=config_items.text(item, schema.ATTR_SCHEDULE_TIME_ZONE),
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


def _update_or_retry(table: Table, **update: Any) -> dict[str, Any]:
    """One conditional UpdateItem; a failed condition starts the write over from a fresh read."""
    try:
        return cast(
            dict[str, Any], call_dynamodb(table.client.update_item, TableName=table.name, **update)
        )
    except table.client.exceptions.ConditionalCheckFailedException as error:
        raise RetryableWriteError("ConditionalCheckFailed", ["ConditionalCheckFailed"]) from error
