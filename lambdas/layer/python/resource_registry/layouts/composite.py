"""zae-limiter 0.8-0.9: one ``#CONFIG`` item per resource, a limit's fields as its attributes
(``l_{limit}_cp``, ``_bx``, ``_ra``, ``_rp``), beside attributes the API does not model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.layouts.base import (
    Action,
    Found,
    Item,
    Layout,
    StoredResource,
    paged,
    segmented,
)
from resource_registry.layouts.expressions import Placeholders
from resource_registry.model import Limit, Namespace

if TYPE_CHECKING:
    from resource_registry.table import Table

# What each field the API cannot represent makes of a limit, for the refusal's message.
UNREPRESENTABLE_DESCRIPTIONS = {
    "sched": "scheduled",
    "rsched": "reset on a schedule",
    "rsa": "windowed (reset_after)",
    "soft": "soft",
}


class CompositeLayout(Layout):
    """One config item per resource, a limit's fields as attributes, with a burst of its own."""

    name = "composite"
    version_partition = schema.system_pk()
    schema_versions: ClassVar[tuple[str, ...]] = ("0.8.0",)  # 0.8, 0.9

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

    def write_actions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        limits: Sequence[Limit],
    ) -> list[Action]:
        placeholders = Placeholders()
        assignments = [
            placeholders.equals(schema.ATTR_RESOURCE, {"S": resource}),
            # zae-limiter writes config_version 1 on every write; ours count up from what we read.
            placeholders.equals(schema.ATTR_CONFIG_VERSION, {"N": str(stored.version + 1)}),
        ]
        written: set[str] = set()
        for limit in limits:
            for field_name, number in self.limit_fields(limit):
                attribute = schema.limit_attribute(limit.name, field_name)
                assignments.append(placeholders.equals(attribute, {"N": str(number)}))
                written.add(attribute)
        assignments += [
            placeholders.equals(attribute, value)
            for attribute, value in self.resource_keys(namespace, resource).items()
        ]
        stored_item = stored.items.get(schema.CONFIG_SORT_KEY, {})
        # Every field of a limit that is not in the new set, and any burst the layout no longer
        # keeps; attributes that are not limits (disabled, cascade, ...) stay as they are.
        removed = sorted(
            attribute
            for attribute in stored_item
            if schema.is_limit_attribute(attribute) and attribute not in written
        )
        expression = "SET " + ", ".join(assignments)
        if removed:
            expression += " REMOVE " + ", ".join(placeholders.name(name) for name in removed)
        condition = _unchanged_config(placeholders, stored_item)
        update: Action = {
            "TableName": table.name,
            "Key": schema.config_key(resource, namespace.prefix),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            **placeholders.request(),
        }
        return [{"Update": update}]

    def delete_transactions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        reserved: int = 1,
    ) -> list[list[Action]]:
        return [[{"Delete": self._unchanged(table, namespace, resource, stored)}]]

    def unchanged_check(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        return {"ConditionCheck": self._unchanged(table, namespace, resource, stored)}

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

    def limit_fields(self, limit: Limit) -> list[tuple[str, int]]:
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

    def _unchanged(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        """The config item's key, conditioned on it being as ``stored``."""
        placeholders = Placeholders()
        condition = _unchanged_config(placeholders, stored.items.get(schema.CONFIG_SORT_KEY, {}))
        return {
            "TableName": table.name,
            "Key": schema.config_key(resource, namespace.prefix),
            "ConditionExpression": condition,
            **placeholders.request(),
        }


def _config_limits(item: Item) -> tuple[tuple[Limit, ...], dict[str, str]]:
    """The limits on a config item, and those of them the API cannot represent (with why)."""
    limits: list[Limit] = []
    unrepresentable: dict[str, str] = {}
    item_schedule = [name for name in schema.ITEM_SCHEDULE_ATTRIBUTES if name in item]
    for name, windowed in sorted(schema.config_limit_names(item).items()):
        fields = {
            field_name: int(value["N"])
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


def _is_set(value: dict[str, Any] | None) -> bool:
    return value is not None and value != {"BOOL": False}


def _unchanged_config(placeholders: Placeholders, item: Item) -> str:
    """The condition that a config item's limits and version are still exactly as read.

    zae-limiter rewrites the whole item with config_version 1 every time, so the version alone
    cannot tell its writes apart: every limit attribute read is compared too. (A rewrite that
    only adds limits inside the few milliseconds between our read and our commit passes; see
    docs/decisions/0005-etags-over-writers-without-versions.md.)
    """
    if not item:
        return f"attribute_not_exists({placeholders.name(schema.PARTITION_KEY)})"
    version = item.get(schema.ATTR_CONFIG_VERSION)
    terms = [
        placeholders.equals(schema.ATTR_CONFIG_VERSION, version)
        if version is not None
        else f"attribute_not_exists({placeholders.name(schema.ATTR_CONFIG_VERSION)})"
    ]
    terms += [
        placeholders.equals(attribute, value)
        for attribute, value in sorted(item.items())
        if schema.is_limit_attribute(attribute) and _comparable(value)
    ]
    return " AND ".join(terms)


def _comparable(value: dict[str, Any]) -> bool:
    return bool(value.keys() & {"S", "N", "BOOL"})
