"""zae-limiter 0.10 and later: composite items under a namespace id (``{nsid}/RESOURCE#{r}``),
found through the keys-only index GSI4, and no burst (a limit's burst is its capacity).

Namespaces are items under the reserved namespace ``_``: ``#NAMESPACE#{name}`` maps a name to its
id and status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from resource_registry import schema
from resource_registry.dynamodb import all_items, call_dynamodb
from resource_registry.errors import InvalidInputError
from resource_registry.layouts.base import Action, namespace_not_found
from resource_registry.layouts.composite import CompositeLayout
from resource_registry.layouts.pages import paged
from resource_registry.layouts.stored import Found, Item
from resource_registry.model import Limit, Namespace, Number
from resource_registry.validation import MAX_NAMESPACE_LENGTH

if TYPE_CHECKING:
    from resource_registry.table import Table


class NamespacedLayout(CompositeLayout):
    """Composite items under a namespace id, with GSI4 keys."""

    name = "namespaced"
    version_partition = schema.namespace_pk()
    schema_versions = ("0.8.0", "0.9.0", "0.10.0")  # 0.10.0; 0.10.1 to 0.10.3; 0.11 to 0.17

    def check_limits(self, limits: Sequence[Limit]) -> None:
        for limit in limits:
            if limit.burst != limit.capacity:
                raise InvalidInputError(
                    f"limit {limit.name!r} has burst {limit.burst}, but this table's layout "
                    "(zae-limiter 0.10 and later) keeps no burst: a limit's burst is its "
                    "capacity; omit burst or set it equal to capacity"
                )

    def shown(self, limit: Limit) -> dict[str, Any]:
        shown = limit.to_dict()
        del shown["burst"]
        return shown

    def limit_fields(self, limit: Limit) -> list[tuple[str, Number]]:
        return [
            (field_name, number)
            for field_name, number in super().limit_fields(limit)
            if field_name != schema.FIELD_BURST
        ]

    def resource_keys(self, namespace: Namespace, resource: str) -> Item:
        return _gsi4_keys(namespace, schema.resource_pk(resource, namespace.prefix))

    def registry_action(
        self,
        table: Table,
        namespace: Namespace,
        verb: str,
        names: Sequence[str],
        *,
        write_id: str,
    ) -> Action:
        action = super().registry_action(table, namespace, verb, names, write_id=write_id)
        update = action["Update"]
        # As zae-limiter writes it, so that its purge_namespace finds the registry via GSI4.
        update["UpdateExpression"] = update["UpdateExpression"].replace(
            "SET ", "SET #gpk = if_not_exists(#gpk, :gpk), #gsk = if_not_exists(#gsk, :gsk), ", 1
        )
        update["ExpressionAttributeNames"].update(
            {"#gpk": schema.GSI4_PARTITION_KEY, "#gsk": schema.GSI4_SORT_KEY}
        )
        update["ExpressionAttributeValues"].update(
            {
                ":gpk": {"S": namespace.namespace_id or ""},
                ":gsk": {"S": schema.system_pk(namespace.prefix)},
            }
        )
        return action

    def resolve_namespace(self, table: Table, name: str) -> Namespace:
        if not 0 < len(name) <= MAX_NAMESPACE_LENGTH or name == schema.RESERVED_NAMESPACE:
            raise namespace_not_found(name)
        # Read once per namespace per cache period (resource_registry.namespaces), consistently:
        # a namespace registered a moment ago is found.
        found = _active_namespace(table, schema.namespace_key(name), name)
        if found is None:
            raise namespace_not_found(name)
        return found

    def active_namespaces(self, table: Table) -> list[Namespace]:
        items = all_items(
            table.client.query,
            TableName=table.name,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ProjectionExpression="#id, #name, #status",
            ExpressionAttributeNames={
                "#pk": schema.PARTITION_KEY,
                "#sk": schema.SORT_KEY,
                "#id": schema.ATTR_NAMESPACE_ID,
                "#name": schema.ATTR_NAMESPACE_NAME,
                "#status": schema.ATTR_NAMESPACE_STATUS,
            },
            ExpressionAttributeValues={
                ":pk": {"S": schema.namespace_pk()},
                ":prefix": {"S": schema.NAMESPACE_SORT_PREFIX},
            },
        )
        namespaces = [
            Namespace(item[schema.ATTR_NAMESPACE_NAME]["S"], item[schema.ATTR_NAMESPACE_ID]["S"])
            for item in items
            if _status(item) == schema.NAMESPACE_ACTIVE
        ]
        return sorted(namespaces, key=lambda namespace: namespace.name)

    def namespace_of_prefix(self, table: Table, prefix: str) -> Namespace | None:
        namespace_id = prefix.removesuffix("/")
        if not namespace_id or namespace_id == schema.RESERVED_NAMESPACE:
            return None
        return _active_namespace(table, schema.namespace_id_key(namespace_id))

    def namespace_checks(self, table: Table, namespace: Namespace) -> list[Action]:
        # A write never lands under the id of a namespace deleted since it was resolved
        # (zae-limiter's purge would miss it).
        return [
            {
                "ConditionCheck": {
                    "TableName": table.name,
                    "Key": schema.namespace_key(namespace.name),
                    "ConditionExpression": "#id = :id AND #status = :active",
                    "ExpressionAttributeNames": {
                        "#id": schema.ATTR_NAMESPACE_ID,
                        "#status": schema.ATTR_NAMESPACE_STATUS,
                    },
                    "ExpressionAttributeValues": {
                        ":id": {"S": namespace.namespace_id or ""},
                        ":active": {"S": schema.NAMESPACE_ACTIVE},
                    },
                }
            }
        ]

    def audit_keys(self, namespace: Namespace, partition: str) -> Item:
        # As zae-limiter writes them, so that its purge_namespace finds the events.
        return _gsi4_keys(namespace, partition)

    def segment_namespaces(
        self, namespaces: list[Namespace], segment: int, total_segments: int
    ) -> list[Namespace]:
        # A keys-only Query per namespace is cheap: each namespace belongs to one segment.
        return [
            namespace
            for index, namespace in enumerate(namespaces)
            if index % total_segments == segment
        ]

    def checks_registered(self, segment: int) -> bool:
        return True  # each namespace belongs to one segment, which checks its own names

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
        query = namespace_resource_query(table.name, namespace)
        paged(query, start_key, page_size)
        page = cast(dict[str, Any], call_dynamodb(table.client.query, **query))
        page.setdefault("ScannedCount", page.get("Count", 0))
        return page

    def found(self, namespace: Namespace, item: Item) -> Found | None:
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], namespace.prefix)
        if resource is None or item[schema.SORT_KEY]["S"] != schema.CONFIG_SORT_KEY:
            return None
        # A keys-only GSI4 entry says nothing of the limits: read the item if it matters.
        return resource, None


def namespace_resource_query(table_name: str, namespace: Namespace) -> dict[str, Any]:
    """The keys-only GSI4 Query of a namespace's resource items."""
    return {
        "TableName": table_name,
        "IndexName": schema.GSI4_INDEX,
        "KeyConditionExpression": "#gpk = :namespace AND begins_with(#gsk, :resources)",
        "ExpressionAttributeNames": {
            "#gpk": schema.GSI4_PARTITION_KEY,
            "#gsk": schema.GSI4_SORT_KEY,
        },
        "ExpressionAttributeValues": {
            ":namespace": {"S": namespace.namespace_id or ""},
            ":resources": {"S": schema.resource_pk("", namespace.prefix)},
        },
    }


def _gsi4_keys(namespace: Namespace, sort_key: str) -> Item:
    return {
        schema.GSI4_PARTITION_KEY: {"S": namespace.namespace_id or ""},
        schema.GSI4_SORT_KEY: {"S": sort_key},
    }


def _active_namespace(table: Table, key: schema.Key, name: str | None = None) -> Namespace | None:
    """The namespace a namespace item (by ``name``, or its reverse item by id) names, if active."""
    response = call_dynamodb(
        table.client.get_item,
        TableName=table.name,
        Key=key,
        ProjectionExpression="#id, #name, #status",
        ExpressionAttributeNames={
            "#id": schema.ATTR_NAMESPACE_ID,
            "#name": schema.ATTR_NAMESPACE_NAME,
            "#status": schema.ATTR_NAMESPACE_STATUS,
        },
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None or _status(item) != schema.NAMESPACE_ACTIVE:
        return None
    found_name = name or item[schema.ATTR_NAMESPACE_NAME]["S"]
    return Namespace(found_name, item[schema.ATTR_NAMESPACE_ID]["S"])


def _status(item: Item) -> str:
    return str(item.get(schema.ATTR_NAMESPACE_STATUS, {}).get("S", ""))
