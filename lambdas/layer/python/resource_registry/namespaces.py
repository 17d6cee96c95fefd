"""Namespaces: zae-limiter 0.10 and later keep each namespace's keys under an opaque id.

The name-to-id items live under the reserved namespace ``_``; ids are cached for a short while,
so a namespace deleted or purged stops resolving within that time. Other layouts have one
namespace, ``default``, with no key prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import NamespaceNotFoundError
from resource_registry.layouts import DEFAULT_SCOPE, Layout, Scope

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# How long a resolved namespace id is trusted before it is read again.
NAMESPACE_CACHE_SECONDS = 30.0
MAX_NAMESPACE_LENGTH = 64


class NamespaceDirectory:
    """Resolves namespace names to scopes on one table, and lists the active ones."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        layout: Layout,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._layout = layout
        self._clock = clock
        self._resolved: dict[str, tuple[Scope, float]] = {}

    def resolve(self, name: str) -> Scope:
        """The scope of an active namespace; NamespaceNotFoundError for any other name."""
        if not self._layout.namespaced:
            if name == schema.DEFAULT_NAMESPACE:
                return DEFAULT_SCOPE
            raise _not_found(name, "this table's layout has only the namespace 'default'")
        if not 0 < len(name) <= MAX_NAMESPACE_LENGTH or name == schema.RESERVED_NAMESPACE:
            raise _not_found(name)
        cached = self._resolved.get(name)
        if cached and cached[1] > self._clock():
            return cached[0]
        response = call_dynamodb(
            self._client.get_item,
            TableName=self._table_name,
            Key=schema.namespace_key(name),
            ProjectionExpression="#id, #status",
            ExpressionAttributeNames={
                "#id": schema.ATTR_NAMESPACE_ID,
                "#status": schema.ATTR_NAMESPACE_STATUS,
            },
            # Once per namespace per NAMESPACE_CACHE_SECONDS: a namespace registered a moment
            # ago is found.
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None or _status(item) != schema.NAMESPACE_ACTIVE:
            self._resolved.pop(name, None)
            raise _not_found(name)
        scope = Scope(name, item[schema.ATTR_NAMESPACE_ID]["S"])
        self._resolved[name] = (scope, self._clock() + NAMESPACE_CACHE_SECONDS)
        return scope

    def active(self) -> list[Scope]:
        """Every active namespace, sorted by name: one Query of the namespace items."""
        if not self._layout.namespaced:
            return [DEFAULT_SCOPE]
        query: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ProjectionExpression": "#id, #name, #status",
            "ExpressionAttributeNames": {
                "#pk": schema.PARTITION_KEY,
                "#sk": schema.SORT_KEY,
                "#id": schema.ATTR_NAMESPACE_ID,
                "#name": schema.ATTR_NAMESPACE_NAME,
                "#status": schema.ATTR_NAMESPACE_STATUS,
            },
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.namespace_pk()},
                ":prefix": {"S": schema.NAMESPACE_SORT_PREFIX},
            },
        }
        scopes: list[Scope] = []
        while True:
            response = call_dynamodb(self._client.query, **query)
            scopes += [
                Scope(item[schema.ATTR_NAMESPACE_NAME]["S"], item[schema.ATTR_NAMESPACE_ID]["S"])
                for item in response.get("Items", [])
                if _status(item) == schema.NAMESPACE_ACTIVE
            ]
            if "LastEvaluatedKey" not in response:
                return sorted(scopes, key=lambda scope: scope.name)
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _status(item: dict[str, Any]) -> str:
    return str(item.get(schema.ATTR_NAMESPACE_STATUS, {}).get("S", ""))


def _not_found(name: str, why: str = "no such active namespace") -> NamespaceNotFoundError:
    shown = name if len(name) <= 80 else name[:80] + "..."
    return NamespaceNotFoundError(f"namespace {shown!r} not found: {why}")
