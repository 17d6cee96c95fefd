"""The table layouts zae-limiter has used: how each stores a resource's limits and its registry.

One object per layout owns the item mapping: which items a resource's limits live in, how they are
read, which transaction actions write or delete them under a condition that catches any writer
that moved them since the read, and what proves a resource has defaults. The store (store.py)
runs the same use cases over any of them. Key strings come from schema.py.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from resource_registry import schema
from resource_registry.dynamodb import MAX_TRANSACT_ACTIONS, call_dynamodb
from resource_registry.errors import InvalidInputError, ResourceChangingError
from resource_registry.model import Limit
from resource_registry.records import Record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Action = dict[str, Any]
Item = dict[str, Any]
# Reads of a flat partition that writes keep changing, before giving up on a consistent view.
CONSISTENT_READ_ATTEMPTS = 3


class Scope(Record):
    """One namespace of a table: its name and, on the namespaced layout, its id."""

    __slots__ = ("name", "namespace_id")
    name: Final[str]
    namespace_id: Final[str | None]

    def __init__(
        self, name: str = schema.DEFAULT_NAMESPACE, namespace_id: str | None = None
    ) -> None:
        self.name = name
        self.namespace_id = namespace_id

    @property
    def prefix(self) -> str:
        """What every key of the namespace starts with."""
        return schema.namespace_prefix(self.namespace_id)


DEFAULT_SCOPE = Scope()


class StoredResource(Record):
    """What one strongly consistent read of a resource found."""

    __slots__ = ("limits", "version", "unrepresentable", "items")
    limits: Final[tuple[Limit, ...]]
    version: Final[int]
    # Limits the API cannot represent (scheduled, soft, windowed), each with the reason.
    unrepresentable: Final[dict[str, str]]
    # The items read, by limit name (flat) or the one config item (composite): what a write's
    # condition compares, so that a writer who changed them since the read makes it fail.
    items: Final[dict[str, Item]]

    def __init__(
        self,
        limits: tuple[Limit, ...],
        version: int,
        unrepresentable: dict[str, str] | None = None,
        items: dict[str, Item] | None = None,
    ) -> None:
        self.limits = limits
        self.version = version
        self.unrepresentable = {} if unrepresentable is None else unrepresentable
        self.items = {} if items is None else items

    @property
    def has_defaults(self) -> bool:
        """The contract's definition: at least one limit item, or a config item with a limit."""
        return bool(self.limits)

    @property
    def etag(self) -> str:
        """A strong validator: the version, and a digest of every limit as stored.

        The digest changes with any change to the limits, including a write by a program that
        keeps no version (zae-limiter itself), so If-Match catches those too.
        """
        shown = [
            (
                limit.name,
                limit.capacity,
                limit.burst,
                limit.refill_amount,
                limit.refill_period_seconds,
                self.unrepresentable.get(limit.name, ""),
            )
            for limit in self.limits
        ]
        digest = hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:12]
        return f"{self.version}-{digest}"


class Layout(ABC):
    """How one zae-limiter release lays out a resource's default limits, over one table."""

    name: ClassVar[str]
    # Whether limits keep a burst of their own; where they do not, burst equals capacity.
    stores_burst: ClassVar[bool] = True
    # Whether keys carry a namespace id prefix and GSI4 keys (zae-limiter 0.10 and later).
    namespaced: ClassVar[bool] = False
    # Whether a resource's version keeps counting across a delete of its defaults (the flat
    # layout's version item stays; a composite item goes, so its version starts again).
    versions_survive_deletes: ClassVar[bool] = False

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    @abstractmethod
    def read(self, scope: Scope, resource: str) -> StoredResource:
        """One strongly consistent read of a resource's limits (the read a write starts from)."""

    @abstractmethod
    def parse(self, items: list[Item]) -> StoredResource:
        """What the items of a resource's partition say: its limits and version."""

    @abstractmethod
    def read_unchanging(self, scope: Scope, resource: str) -> StoredResource:
        """A read that no write landed in the middle of (what GET answers with)."""

    @abstractmethod
    def write_actions(
        self, scope: Scope, resource: str, stored: StoredResource, limits: Sequence[Limit]
    ) -> list[Action]:
        """The transaction actions that replace ``stored`` with ``limits``, conditioned on it."""

    @abstractmethod
    def delete_transactions(
        self, scope: Scope, resource: str, stored: StoredResource, reserved: int = 1
    ) -> list[list[Action]]:
        """The transactions that delete ``stored``; ``reserved`` more actions (the registry
        update among them) join the last one."""

    @abstractmethod
    def unchanged_check(self, scope: Scope, resource: str, stored: StoredResource) -> Action:
        """A ConditionCheck that the resource is still as ``stored`` (an orphan's removal)."""

    @abstractmethod
    def evidence(self, stored: StoredResource) -> str:
        """What a registration checks still exists: one limit of a resource that has defaults."""

    @abstractmethod
    def evidence_check(self, scope: Scope, resource: str, evidence: str) -> Action:
        """A ConditionCheck that the limit ``evidence`` names still exists."""

    def check_limits(self, limits: Sequence[Limit]) -> None:
        """Refuse limits this layout cannot store as given."""
        if self.stores_burst:
            return
        for limit in limits:
            if limit.burst != limit.capacity:
                raise InvalidInputError(
                    f"limit {limit.name!r} has burst {limit.burst}, but this table's layout "
                    "(zae-limiter 0.10 and later) keeps no burst: a limit's burst is its "
                    "capacity; omit burst or set it equal to capacity"
                )

    def scope_checks(self, scope: Scope) -> list[Action]:
        """ConditionChecks that the namespace is still the active one resolved: a write never
        lands under the id of a namespace deleted since (zae-limiter's purge would miss it)."""
        if not self.namespaced:
            return []
        return [
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": schema.namespace_key(scope.name),
                    "ConditionExpression": "#id = :id AND #status = :active",
                    "ExpressionAttributeNames": {
                        "#id": schema.ATTR_NAMESPACE_ID,
                        "#status": schema.ATTR_NAMESPACE_STATUS,
                    },
                    "ExpressionAttributeValues": {
                        ":id": {"S": scope.namespace_id or ""},
                        ":active": {"S": schema.NAMESPACE_ACTIVE},
                    },
                }
            }
        ]

    def registry_key(self, scope: Scope) -> schema.Key:
        """The key of the scope's registry item."""
        return schema.registry_key(scope.prefix)

    def registry_action(self, scope: Scope, verb: str, names: Sequence[str]) -> Action:
        """ADD or DELETE names in the registry set (never an empty set: DynamoDB refuses those)."""
        update: Action = {
            "TableName": self.table_name,
            "Key": self.registry_key(scope),
            "UpdateExpression": f"{verb} #resources :names",
            "ExpressionAttributeNames": {"#resources": schema.ATTR_RESOURCES},
            "ExpressionAttributeValues": {":names": {"SS": list(names)}},
        }
        if self.namespaced:
            # As zae-limiter writes it, so that its purge_namespace finds the registry via GSI4.
            update["UpdateExpression"] = (
                "SET #gpk = if_not_exists(#gpk, :gpk), #gsk = if_not_exists(#gsk, :gsk) "
                + update["UpdateExpression"]
            )
            update["ExpressionAttributeNames"].update(_gsi4_names())
            update["ExpressionAttributeValues"].update(
                {
                    ":gpk": {"S": scope.namespace_id or ""},
                    ":gsk": {"S": schema.system_pk(scope.prefix)},
                }
            )
        return {"Update": update}


class FlatLayout(Layout):
    """zae-limiter 0.6-0.7: one item per limit, plus this service's version item."""

    name = "flat"
    versions_survive_deletes = True

    def read(self, scope: Scope, resource: str) -> StoredResource:
        items: list[Item] = []
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": schema.resource_pk(resource, scope.prefix)}},
            "ConsistentRead": True,
            # Descending, the version item comes before every limit: a write that commits while
            # the limits are read then fails the writer's version condition, and shows to a reader
            # that reads the version again (see read_unchanging).
            "ScanIndexForward": False,
        }
        while True:
            response = call_dynamodb(self.client.query, **query)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return self.parse(items)
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def parse(self, items: list[Item]) -> StoredResource:
        limits: dict[str, Limit] = {}
        by_name: dict[str, Item] = {}
        version = 0
        for item in items:
            sort_key = item[schema.SORT_KEY]["S"]
            if schema.is_limit_sk(sort_key):
                limit = _flat_limit(item)
                limits[limit.name] = limit
                by_name[limit.name] = item
            elif sort_key == schema.VERSION_SORT_KEY:
                version = int(item[schema.ATTR_VERSION]["N"])
        ordered = tuple(limits[name] for name in sorted(limits))
        return StoredResource(ordered, version, items=by_name)

    def read_unchanging(self, scope: Scope, resource: str) -> StoredResource:
        # A Query is only read-committed against transactions, item by item. The same version
        # read again after it means no write of ours committed between: every one moves it.
        for _ in range(CONSISTENT_READ_ATTEMPTS):
            stored = self.read(scope, resource)
            if self._current_version(scope, resource) == stored.version:
                return stored
        raise ResourceChangingError(f"resource {resource!r} kept changing while it was read")

    def write_actions(
        self, scope: Scope, resource: str, stored: StoredResource, limits: Sequence[Limit]
    ) -> list[Action]:
        version = stored.version + 1
        actions: list[Action] = []
        for limit in limits:
            put: Action = {
                "TableName": self.table_name,
                "Item": self._limit_item(scope, resource, limit, version),
            }
            put.update(_unchanged_or_absent(stored.items.get(limit.name)))
            actions.append({"Put": put})
        stale = sorted(set(stored.items) - {limit.name for limit in limits})
        actions += [self._delete_limit(scope, resource, stored, name) for name in stale]
        actions.append(self._version_update(scope, resource, stored.version))
        return actions

    def delete_transactions(
        self, scope: Scope, resource: str, stored: StoredResource, reserved: int = 1
    ) -> list[list[Action]]:
        deletes = [
            self._delete_limit(scope, resource, stored, name) for name in sorted(stored.items)
        ]
        # More limits than one transaction takes (another program wrote them): delete them in
        # chunks that each check the version is unchanged. The resource keeps limit items, and
        # so its registry entry, until the last chunk unregisters it with the last of them.
        unchanged = {"ConditionCheck": self._version_condition(scope, resource, stored.version)}
        last_room = MAX_TRANSACT_ACTIONS - 1 - reserved  # the version update, what is reserved
        chunk = MAX_TRANSACT_ACTIONS - 1
        transactions: list[list[Action]] = []
        while len(deletes) > last_room:
            transactions.append([*deletes[:chunk], unchanged])
            deletes = deletes[chunk:]
        transactions.append([*deletes, self._version_update(scope, resource, stored.version)])
        return transactions

    def unchanged_check(self, scope: Scope, resource: str, stored: StoredResource) -> Action:
        return {"ConditionCheck": self._version_condition(scope, resource, stored.version)}

    def evidence(self, stored: StoredResource) -> str:
        return stored.limits[0].name

    def evidence_check(self, scope: Scope, resource: str, evidence: str) -> Action:
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": schema.limit_key(resource, evidence, scope.prefix),
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
            }
        }

    def _current_version(self, scope: Scope, resource: str) -> int:
        response = call_dynamodb(
            self.client.get_item,
            TableName=self.table_name,
            Key=schema.version_key(resource, scope.prefix),
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": schema.ATTR_VERSION},
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get(schema.ATTR_VERSION, {}).get("N", "0"))

    def _limit_item(self, scope: Scope, resource: str, limit: Limit, version: int) -> Item:
        return {
            **schema.limit_key(resource, limit.name, scope.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_LIMIT_NAME: {"S": limit.name},
            schema.ATTR_CAPACITY: {"N": str(limit.capacity)},
            schema.ATTR_BURST: {"N": str(limit.burst)},
            schema.ATTR_REFILL_AMOUNT: {"N": str(limit.refill_amount)},
            schema.ATTR_REFILL_PERIOD_SECONDS: {"N": str(limit.refill_period_seconds)},
            schema.ATTR_CONFIG_VERSION: {"N": str(version)},
        }

    def _delete_limit(
        self, scope: Scope, resource: str, stored: StoredResource, name: str
    ) -> Action:
        delete: Action = {
            "TableName": self.table_name,
            "Key": schema.limit_key(resource, name, scope.prefix),
        }
        delete.update(_unchanged_or_absent(stored.items.get(name)))
        return {"Delete": delete}

    def _version_update(self, scope: Scope, resource: str, current_version: int) -> Action:
        """Bump the version item, on condition that nobody else bumped it since our read."""
        action = self._version_condition(scope, resource, current_version)
        action["UpdateExpression"] = "SET #version = :next"
        action.setdefault("ExpressionAttributeValues", {})[":next"] = {
            "N": str(current_version + 1)
        }
        return {"Update": action}

    def _version_condition(self, scope: Scope, resource: str, current_version: int) -> Action:
        """The version item still at ``current_version`` (absent counts as version zero)."""
        condition: Action = {
            "TableName": self.table_name,
            "Key": schema.version_key(resource, scope.prefix),
            "ExpressionAttributeNames": {"#version": schema.ATTR_VERSION},
            "ConditionExpression": "attribute_not_exists(#version)",
        }
        if current_version:
            condition["ConditionExpression"] = "#version = :current"
            condition["ExpressionAttributeValues"] = {":current": {"N": str(current_version)}}
        return condition


class CompositeLayout(Layout):
    """zae-limiter 0.8-0.9: one ``#CONFIG`` item per resource, a limit's fields as attributes."""

    name = "composite"

    def read(self, scope: Scope, resource: str) -> StoredResource:
        response = call_dynamodb(
            self.client.get_item,
            TableName=self.table_name,
            Key=schema.config_key(resource, scope.prefix),
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

    def read_unchanging(self, scope: Scope, resource: str) -> StoredResource:
        # One item: a GetItem never sees half a write.
        return self.read(scope, resource)

    def write_actions(
        self, scope: Scope, resource: str, stored: StoredResource, limits: Sequence[Limit]
    ) -> list[Action]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assignments = [
            _assign(names, values, schema.ATTR_RESOURCE, {"S": resource}),
            # zae-limiter writes config_version 1 on every write; ours count up from what we read.
            _assign(names, values, schema.ATTR_CONFIG_VERSION, {"N": str(stored.version + 1)}),
        ]
        for limit in limits:
            for field_name, number in self._fields(limit):
                attribute = schema.limit_attribute(limit.name, field_name)
                assignments.append(_assign(names, values, attribute, {"N": str(number)}))
        if self.namespaced:
            assignments += [
                _assign(names, values, schema.GSI4_PARTITION_KEY, {"S": scope.namespace_id or ""}),
                _assign(
                    names,
                    values,
                    schema.GSI4_SORT_KEY,
                    {"S": schema.resource_pk(resource, scope.prefix)},
                ),
            ]
        written = {
            schema.limit_attribute(limit.name, field_name)
            for limit in limits
            for field_name, _ in self._fields(limit)
        }
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
            expression += " REMOVE " + ", ".join(_name(names, attribute) for attribute in removed)
        update: Action = {
            "TableName": self.table_name,
            "Key": schema.config_key(resource, scope.prefix),
            "UpdateExpression": expression,
            "ConditionExpression": _unchanged_config(names, values, stored_item),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return [{"Update": update}]

    def delete_transactions(
        self, scope: Scope, resource: str, stored: StoredResource, reserved: int = 1
    ) -> list[list[Action]]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        condition = _unchanged_config(names, values, stored.items.get(schema.CONFIG_SORT_KEY, {}))
        delete: Action = {
            "TableName": self.table_name,
            "Key": schema.config_key(resource, scope.prefix),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            delete["ExpressionAttributeValues"] = values
        return [[{"Delete": delete}]]

    def unchanged_check(self, scope: Scope, resource: str, stored: StoredResource) -> Action:
        (delete,) = self.delete_transactions(scope, resource, stored)[0]
        return {"ConditionCheck": delete["Delete"]}

    def evidence(self, stored: StoredResource) -> str:
        item = stored.items[schema.CONFIG_SORT_KEY]
        name, windowed = next(iter(sorted(schema.config_limit_names(item).items())))
        return schema.limit_attribute(name, schema.FIELD_CAPACITY, windowed)

    def evidence_check(self, scope: Scope, resource: str, evidence: str) -> Action:
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": schema.config_key(resource, scope.prefix),
                "ConditionExpression": "attribute_exists(#capacity)",
                "ExpressionAttributeNames": {"#capacity": evidence},
            }
        }

    def _fields(self, limit: Limit) -> list[tuple[str, int]]:
        fields = [
            (schema.FIELD_CAPACITY, limit.capacity),
            (schema.FIELD_REFILL_AMOUNT, limit.refill_amount),
            (schema.FIELD_REFILL_PERIOD, limit.refill_period_seconds),
        ]
        if self.stores_burst:
            fields.append((schema.FIELD_BURST, limit.burst))
        return fields


class NamespacedLayout(CompositeLayout):
    """zae-limiter 0.10 and later: composite items under a namespace id, with GSI4 keys."""

    name = "namespaced"
    stores_burst = False
    namespaced = True


LAYOUTS: dict[str, type[Layout]] = {
    layout.name: layout for layout in (FlatLayout, CompositeLayout, NamespacedLayout)
}


def _flat_limit(item: Item) -> Limit:
    def number(attribute: str, default: int | None = None) -> int:
        if attribute not in item and default is not None:
            return default
        return int(item[attribute]["N"])

    capacity = number(schema.ATTR_CAPACITY)
    return Limit(
        name=schema.limit_name_from_sk(item[schema.SORT_KEY]["S"]),
        capacity=capacity,
        burst=number(schema.ATTR_BURST, capacity),
        refill_amount=number(schema.ATTR_REFILL_AMOUNT, capacity),
        refill_period_seconds=number(schema.ATTR_REFILL_PERIOD_SECONDS),
    )


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
            unrepresentable[name] = ", ".join(_DESCRIPTIONS[field_name] for field_name in special)
        elif item_schedule:
            unrepresentable[name] = "under a resource-level schedule"
    return tuple(limits), unrepresentable


_DESCRIPTIONS = {
    "sched": "scheduled",
    "rsched": "reset on a schedule",
    "rsa": "windowed (reset_after)",
    "soft": "soft",
}


def _is_set(value: dict[str, Any] | None) -> bool:
    return value is not None and value != {"BOOL": False}


def _unchanged_or_absent(item: Item | None) -> Action:
    """The condition that a flat item is still exactly as read (or still absent)."""
    if item is None:
        return {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
        }
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    terms = [
        f"{_name(names, attribute)} = {_value(values, value)}"
        for attribute, value in sorted(item.items())
        if attribute not in (schema.PARTITION_KEY, schema.SORT_KEY)
    ]
    return {
        "ConditionExpression": " AND ".join(terms) or "attribute_exists(#pk)",
        "ExpressionAttributeNames": names or {"#pk": schema.PARTITION_KEY},
        **({"ExpressionAttributeValues": values} if values else {}),
    }


def _unchanged_config(names: dict[str, str], values: dict[str, Any], item: Item) -> str:
    """The condition that a config item's limits and version are still exactly as read.

    zae-limiter rewrites the whole item with config_version 1 every time, so the version alone
    cannot tell its writes apart: every limit attribute read is compared too. (A rewrite that
    only adds limits inside the few milliseconds between our read and our commit passes; see
    docs/decisions/0005-etags-over-writers-without-versions.md.)
    """
    if not item:
        return f"attribute_not_exists({_name(names, schema.PARTITION_KEY)})"
    version = item.get(schema.ATTR_CONFIG_VERSION)
    terms = [
        f"{_name(names, schema.ATTR_CONFIG_VERSION)} = {_value(values, version)}"
        if version is not None
        else f"attribute_not_exists({_name(names, schema.ATTR_CONFIG_VERSION)})"
    ]
    terms += [
        f"{_name(names, attribute)} = {_value(values, value)}"
        for attribute, value in sorted(item.items())
        if schema.is_limit_attribute(attribute) and _comparable(value)
    ]
    return " AND ".join(terms)


def _comparable(value: dict[str, Any]) -> bool:
    return bool(value.keys() & {"S", "N", "BOOL"})


def _assign(names: dict[str, str], values: dict[str, Any], attribute: str, value: Any) -> str:
    return f"{_name(names, attribute)} = {_value(values, value)}"


def _name(names: dict[str, str], attribute: str) -> str:
    for placeholder, existing in names.items():
        if existing == attribute:
            return placeholder
    placeholder = f"#a{len(names)}"
    names[placeholder] = attribute
    return placeholder


def _value(values: dict[str, Any], value: Any) -> str:
    placeholder = f":v{len(values)}"
    values[placeholder] = value
    return placeholder


def _gsi4_names() -> dict[str, str]:
    return {"#gpk": schema.GSI4_PARTITION_KEY, "#gsk": schema.GSI4_SORT_KEY}
