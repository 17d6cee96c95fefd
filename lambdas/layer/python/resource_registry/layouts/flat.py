"""zae-limiter 0.6-0.7: one item per limit (``RESOURCE#{r}``, ``#LIMIT#{name}``), and this
service's version item in the same partition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from resource_registry import schema
from resource_registry.dynamodb import MAX_TRANSACT_ACTIONS, all_items, call_dynamodb
from resource_registry.errors import ResourceChangingError
from resource_registry.layouts.base import Action, Layout
from resource_registry.layouts.expressions import Placeholders
from resource_registry.layouts.pages import paged, segmented
from resource_registry.layouts.stored import Found, Item, StoredResource
from resource_registry.model import Limit, Namespace, Number, stored_number

if TYPE_CHECKING:
    from resource_registry.table import Table

# Reads of a flat partition that writes keep changing, before giving up on a consistent view.
CONSISTENT_READ_ATTEMPTS = 3


class FlatLayout(Layout):
    """One item per limit, plus this service's version item."""

    name = "flat"
    # One transaction: a Put per limit, the version item, the audit event, the registry and an
    # idempotency record.
    max_limits = MAX_TRANSACT_ACTIONS - 4
    version_partition = schema.system_pk()
    schema_versions = ("1.0.0", "0.7.0")  # 0.6, 0.7
    versions_survive_deletes = True

    def read(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        return self.parse(
            all_items(
                table.client.query,
                TableName=table.name,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": schema.PARTITION_KEY},
                ExpressionAttributeValues={
                    ":pk": {"S": schema.resource_pk(resource, namespace.prefix)}
                },
                ConsistentRead=True,
                # Descending, the version item comes before every limit: a write that commits
                # while the limits are read then fails the writer's version condition, and shows
                # to a reader that reads the version again (see read_unchanging).
                ScanIndexForward=False,
            )
        )

    def parse(self, items: list[Item]) -> StoredResource:
        limits: dict[str, Limit] = {}
        by_sort_key: dict[str, Item] = {}
        version = 0
        for item in items:
            sort_key = item[schema.SORT_KEY]["S"]
            if schema.is_limit_sk(sort_key):
                limit = _flat_limit(item)
                limits[limit.name] = limit
                by_sort_key[sort_key] = item
            elif sort_key == schema.VERSION_SORT_KEY:
                version = int(item[schema.ATTR_VERSION]["N"])
        ordered = tuple(limits[name] for name in sorted(limits))
        return StoredResource(ordered, version, items=by_sort_key)

    def read_unchanging(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        # A Query is only read-committed against transactions, item by item. The same version
        # read again after it means no write of ours committed between: every one moves it.
        for _ in range(CONSISTENT_READ_ATTEMPTS):
            stored = self.read(table, namespace, resource)
            if self._current_version(table, namespace, resource) == stored.version:
                return stored
        raise ResourceChangingError(f"resource {resource!r} kept changing while it was read")

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
        # The version item, not the write's id, is what this layout's conditions compare.
        version = stored.version + 1
        actions: list[Action] = []
        for limit in limits:
            put: Action = {
                "TableName": table.name,
                "Item": self._limit_item(namespace, resource, limit, version),
            }
            put.update(_unchanged_or_absent(stored.items.get(schema.limit_sk(limit.name))))
            actions.append({"Put": put})
        written = {schema.limit_sk(limit.name) for limit in limits}
        stale = sorted(set(stored.items) - written)
        actions += [self._delete_limit(table, namespace, resource, stored, key) for key in stale]
        actions.append(self._version_update(table, namespace, resource, stored.version))
        return actions

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
        deletes = [
            self._delete_limit(table, namespace, resource, stored, key)
            for key in sorted(stored.items)
        ]
        # More limits than one transaction takes (another program wrote them): delete them in
        # chunks that each check the version is unchanged. The resource keeps limit items, and
        # so its registry entry, until the last chunk unregisters it with the last of them.
        unchanged = self.unchanged_check(table, namespace, resource, stored)
        last_room = MAX_TRANSACT_ACTIONS - 1 - reserved  # the version update, what is reserved
        chunk = MAX_TRANSACT_ACTIONS - 1
        transactions: list[list[Action]] = []
        while len(deletes) > last_room:
            transactions.append([*deletes[:chunk], unchanged])
            deletes = deletes[chunk:]
        transactions.append(
            [*deletes, self._version_update(table, namespace, resource, stored.version)]
        )
        return transactions

    def unchanged_check(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        return {
            "ConditionCheck": self._version_condition(table, namespace, resource, stored.version)
        }

    def proof(self, stored: StoredResource) -> str:
        return stored.limits[0].name

    def proof_check(self, table: Table, namespace: Namespace, resource: str, proof: str) -> Action:
        return {
            "ConditionCheck": {
                "TableName": table.name,
                "Key": schema.limit_key(resource, proof, namespace.prefix),
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
            }
        }

    def holds_limits(self, sort_key: str) -> bool:
        # A limit item, or the version item every write of ours moves. One record shows one
        # item of several, so no change of limits is read off a record here (limits_change).
        return schema.is_limit_sk(sort_key) or sort_key == schema.VERSION_SORT_KEY

    def audit_retention_key(self, namespace: Namespace) -> schema.Key | None:
        return None  # zae-limiter 0.6-0.7 keep every event 90 days

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
        scan = limit_item_scan(table.name, segment, total_segments)
        paged(scan, start_key, page_size)
        return cast(dict[str, Any], call_dynamodb(table.client.scan, **scan))

    def found(self, namespace: Namespace, item: Item) -> Found | None:
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], namespace.prefix)
        sort_key = item[schema.SORT_KEY]["S"]
        if resource is None or not schema.is_limit_sk(sort_key):
            return None
        return resource, schema.limit_name_from_sk(sort_key)

    def _current_version(self, table: Table, namespace: Namespace, resource: str) -> int:
        response = call_dynamodb(
            table.client.get_item,
            TableName=table.name,
            Key=schema.version_key(resource, namespace.prefix),
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": schema.ATTR_VERSION},
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get(schema.ATTR_VERSION, {}).get("N", "0"))

    def _limit_item(self, namespace: Namespace, resource: str, limit: Limit, version: int) -> Item:
        return {
            **schema.limit_key(resource, limit.name, namespace.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_LIMIT_NAME: {"S": limit.name},
            schema.ATTR_CAPACITY: {"N": str(limit.capacity)},
            schema.ATTR_BURST: {"N": str(limit.burst)},
            schema.ATTR_REFILL_AMOUNT: {"N": str(limit.refill_amount)},
            schema.ATTR_REFILL_PERIOD_SECONDS: {"N": str(limit.refill_period_seconds)},
            schema.ATTR_CONFIG_VERSION: {"N": str(version)},
        }

    def _delete_limit(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        sort_key: str,
    ) -> Action:
        name = schema.limit_name_from_sk(sort_key)
        delete: Action = {
            "TableName": table.name,
            "Key": schema.limit_key(resource, name, namespace.prefix),
        }
        delete.update(_unchanged_or_absent(stored.items.get(sort_key)))
        return {"Delete": delete}

    def _version_update(
        self, table: Table, namespace: Namespace, resource: str, current_version: int
    ) -> Action:
        """Bump the version item, on condition that nobody else bumped it since our read."""
        action = self._version_condition(table, namespace, resource, current_version)
        action["UpdateExpression"] = "SET #version = :next"
        action.setdefault("ExpressionAttributeValues", {})[":next"] = {
            "N": str(current_version + 1)
        }
        return {"Update": action}

    def _version_condition(
        self, table: Table, namespace: Namespace, resource: str, current_version: int
    ) -> Action:
        """The version item still at ``current_version`` (absent counts as version zero)."""
        condition: Action = {
            "TableName": table.name,
            "Key": schema.version_key(resource, namespace.prefix),
            "ExpressionAttributeNames": {"#version": schema.ATTR_VERSION},
            "ConditionExpression": "attribute_not_exists(#version)",
        }
        if current_version:
            condition["ConditionExpression"] = "#version = :current"
            condition["ExpressionAttributeValues"] = {":current": {"N": str(current_version)}}
        return condition


def limit_item_scan(table_name: str, segment: int = 0, total_segments: int = 1) -> dict[str, Any]:
    """The Scan of one segment that returns the keys of flat limit items and nothing else."""
    scan: dict[str, Any] = {
        "TableName": table_name,
        "ProjectionExpression": "#pk, #sk",
        "FilterExpression": "begins_with(#pk, :resource) AND begins_with(#sk, :limit)",
        "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
        "ExpressionAttributeValues": {
            ":resource": {"S": schema.RESOURCE_PREFIX},
            ":limit": {"S": schema.LIMIT_PREFIX},
        },
    }
    return segmented(scan, segment, total_segments)


def _flat_limit(item: Item) -> Limit:
    def number(attribute: str, default: Number | None = None) -> Number:
        if attribute not in item and default is not None:
            return default
        return stored_number(item[attribute]["N"])

    capacity = number(schema.ATTR_CAPACITY)
    return Limit(
        name=schema.limit_name_from_sk(item[schema.SORT_KEY]["S"]),
        capacity=capacity,
        burst=number(schema.ATTR_BURST, capacity),
        refill_amount=number(schema.ATTR_REFILL_AMOUNT, capacity),
        refill_period_seconds=number(schema.ATTR_REFILL_PERIOD_SECONDS),
    )


def _unchanged_or_absent(item: Item | None) -> Action:
    """The condition that a flat item is still exactly as read (or still absent)."""
    if item is None:
        return {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
        }
    placeholders = Placeholders()
    terms = [
        placeholders.equals(attribute, value)
        for attribute, value in sorted(item.items())
        if attribute not in (schema.PARTITION_KEY, schema.SORT_KEY)
    ]
    if not terms:
        return {
            "ConditionExpression": "attribute_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
        }
    return {"ConditionExpression": " AND ".join(terms), **placeholders.request()}
