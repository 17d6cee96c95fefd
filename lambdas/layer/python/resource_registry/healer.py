"""The registry healer: for each change the table's stream shows, whoever made it, the namespace's
registry is made to agree with the resource's items, and a change of defaults is published.

A repair is conditioned on the resource's items as read: if they changed since, the repair is
dropped, since the newer change has a stream record of its own that heals it. So a late, repeated
or reordered record never undoes a newer write. A change event is published once per change: the
resource's mark holds the stream position of its last published change (change_events.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from resource_registry import schema
from resource_registry.change_events import (
    WRITER_OTHER,
    WRITER_SERVICE,
    ChangeEvent,
    PublishedMarks,
    Publisher,
    iso_time,
)
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import NamespaceNotFoundError
from resource_registry.layouts.base import Item
from resource_registry.model import Namespace
from resource_registry.observability import logger
from resource_registry.repairs import RegistryRepairs
from resource_registry.store import RegistryStore
from resource_registry.validation import RESOURCE_NAME_PATTERN

if TYPE_CHECKING:
    from resource_registry.table import Table

# A stream record as Lambda hands it (and as the local poller builds it): eventName,
# dynamodb.Keys, NewImage, OldImage, SequenceNumber, ApproximateCreationDateTime.
StreamRecord = dict[str, Any]


class RegistryHealer:
    """Heals registries and publishes change events, record by record, in stream order."""

    def __init__(self, table: Table, publisher: Publisher) -> None:
        self._table = table
        self._publisher = publisher
        self._marks = PublishedMarks(table)
        self._namespaces: dict[str, Namespace | None] = {}

    def handle(self, records: Sequence[StreamRecord]) -> list[str]:
        """Handle ``records`` in order. The sequence numbers not handled: the first that failed
        (the stream gives it, and all after it, again), or none."""
        for record in records:
            try:
                self.handle_one(record)
            except Exception:
                logger.exception(
                    "stream record not handled", extra={"sequence": _sequence_number(record)}
                )
                return [_sequence_number(record)]
        return []

    def handle_one(self, record: StreamRecord) -> None:
        """Heal and publish what one record shows."""
        change = record["dynamodb"]
        target = self._table.layout.stream_target(change["Keys"])
        if target is None:
            return
        namespace = self._namespace(target.prefix)
        if namespace is None:
            return  # a namespace deleted since: nothing of it is served, nothing to heal
        old, new = change.get("OldImage"), change.get("NewImage")
        try:
            if target.resource is None:
                for resource in _changed_names(old, new):
                    self._heal(namespace, resource)
                return
            if not RESOURCE_NAME_PATTERN.fullmatch(target.resource):
                return  # never registered (backfill counts it)
            self._heal(namespace, target.resource)
        except NamespaceNotFoundError:
            return  # deleted while the repair was being made
        self._publish(namespace, target.resource, record)

    def _heal(self, namespace: Namespace, resource: str) -> None:
        """Make the registry agree with the resource's items as they are now."""
        if not RESOURCE_NAME_PATTERN.fullmatch(resource):
            return
        repairs = RegistryRepairs(self._table, namespace)
        stored = repairs.read(resource)
        registered = resource in RegistryStore(self._table, namespace).list_resources(
            consistent=True
        )
        if stored.has_defaults and not registered:
            repairs.add_if_still(resource, stored)
        elif registered and not stored.has_defaults:
            repairs.remove_if_still(resource, stored)

    def _publish(self, namespace: Namespace, resource: str, record: StreamRecord) -> None:
        change = record["dynamodb"]
        old, new = change.get("OldImage"), change.get("NewImage")
        limits = self._table.layout.limits_change(old, new)
        if limits is None:
            return
        sequence = int(_sequence_number(record))
        if sequence <= self._marks.last(namespace, resource):
            return  # published when this record came the first time
        before, after = limits
        writer, principal, event_id = self._writer(namespace, resource, old, new)
        when = iso_time(float(change.get("ApproximateCreationDateTime", 0)))
        event = ChangeEvent(
            namespace.name, resource, before, after, writer, principal, event_id, when
        )
        self._publisher.publish([event])
        self._marks.mark(namespace, resource, sequence)

    def _writer(
        self, namespace: Namespace, resource: str, old: Item | None, new: Item | None
    ) -> tuple[str, str | None, str | None]:
        """Who made a change: the service (with the principal and id of its audit event, whose
        id is the write's mark on the item) or another writer."""
        mark = (new or {}).get(schema.ATTR_WRITE_ID, {}).get("S")
        if mark is None or mark == (old or {}).get(schema.ATTR_WRITE_ID, {}).get("S"):
            return WRITER_OTHER, None, None
        response = call_dynamodb(
            self._table.client.get_item,
            TableName=self._table.name,
            Key=schema.audit_key(resource, mark, namespace.prefix),
            ConsistentRead=True,
        )
        audit = response.get("Item")
        if audit is None:
            return WRITER_OTHER, None, None  # a mark of a write that changed no limit
        principal = audit.get(schema.ATTR_PRINCIPAL, {}).get("S")
        return WRITER_SERVICE, principal, mark

    def _namespace(self, prefix: str) -> Namespace | None:
        if prefix not in self._namespaces:
            self._namespaces[prefix] = self._table.layout.namespace_of_prefix(self._table, prefix)
        return self._namespaces[prefix]


def _changed_names(old: Item | None, new: Item | None) -> list[str]:
    """The names a change of a registry item added or removed."""

    def names(image: Item | None) -> set[str]:
        return set((image or {}).get(schema.ATTR_RESOURCES, {}).get("SS", []))

    return sorted(names(old) ^ names(new))


def _sequence_number(record: StreamRecord) -> str:
    return str(record["dynamodb"]["SequenceNumber"])
