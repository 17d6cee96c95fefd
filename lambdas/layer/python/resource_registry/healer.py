"""The registry healer: for each change the table's stream shows, whoever made it, the namespace's
registry is made to agree with the resource's items, and a change of defaults is published.

A repair is conditioned on the resource's items as read: if they changed since, the repair is
dropped, since the newer change has a stream record of its own that heals it. So a late, repeated
or reordered record never undoes a newer write. A change event is published once per change: the
resource's mark holds the stream position of its last published change (change_events.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from resource_registry import schema
from resource_registry.change_events import (
    WRITER_OTHER,
    WRITER_SERVICE,
    ChangeEvent,
    PublishedMarks,
    Publisher,
    iso_time,
)
from resource_registry.dynamodb import batch_get
from resource_registry.errors import NamespaceNotFoundError
from resource_registry.layouts.stored import Item, StoredResource
from resource_registry.model import Namespace
from resource_registry.observability import logger
from resource_registry.records import Record
from resource_registry.repairs import RegistryRepairs
from resource_registry.validation import RESOURCE_NAME_PATTERN

if TYPE_CHECKING:
    from resource_registry.table import Table

# Items whose records one batch handles at once.
WORKERS = 8
# A stream record as Lambda hands it (and as the local poller builds it): eventName,
# dynamodb.Keys, NewImage, OldImage, SequenceNumber, ApproximateCreationDateTime.
StreamRecord = dict[str, Any]


class Snapshot(Record):
    """What one read found of a resource: its items, its registration, and what publishing a
    change of it needs (the stream position last published, the audit event of its mark)."""

    __slots__ = ("namespace", "resource", "stored", "registered", "last_published", "audit")
    namespace: Final[Namespace]
    resource: Final[str]
    stored: Final[StoredResource]
    registered: Final[bool]
    last_published: Final[int]  # 0: none
    audit: Final[Item | None]

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        registered: bool,
        last_published: int,
        audit: Item | None,
    ) -> None:
        self.namespace = namespace
        self.resource = resource
        self.stored = stored
        self.registered = registered
        self.last_published = last_published
        self.audit = audit


class _PendingEvent(Record):
    """A change event to publish once the batch is healed, and where its record stood."""

    __slots__ = ("position", "namespace", "resource", "sequence", "event")
    position: Final[int]
    namespace: Final[Namespace]
    resource: Final[str]
    sequence: Final[int]
    event: Final[ChangeEvent]

    def __init__(
        self, position: int, namespace: Namespace, resource: str, sequence: int, event: ChangeEvent
    ) -> None:
        self.position = position
        self.namespace = namespace
        self.resource = resource
        self.sequence = sequence
        self.event = event


class _BatchWork:
    """What a batch's records found to do once all are read: names to add, events to publish."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.additions: dict[Namespace, dict[str, str]] = {}
        self.events: list[_PendingEvent] = []

    def add(self, namespace: Namespace, resource: str, proof: str) -> None:
        with self._lock:
            self.additions.setdefault(namespace, {})[resource] = proof

    def publish(self, event: _PendingEvent) -> None:
        with self._lock:
            self.events.append(event)


class RegistryHealer:
    """Heals registries and publishes change events: each item's records in stream order, the
    records of different items at once (each takes a few round trips to DynamoDB)."""

    def __init__(self, table: Table, publisher: Publisher, workers: int = WORKERS) -> None:
        self._table = table
        self._publisher = publisher
        self._marks = PublishedMarks(table)
        self._namespaces: dict[str, Namespace | None] = {}
        self._workers = workers

    def handle(self, records: Sequence[StreamRecord]) -> list[str]:
        """Handle ``records``, each item's in order. The sequence numbers not handled: the first
        record, in the batch's order, that failed or followed a failure of its own item (the
        stream gives it, and all after it, again), or none.

        Each record is read first (the items of different items at once); then the names to add
        are registered a transaction's worth at a time, each on condition that its proof still
        holds; then the changes of defaults are published, in the batch's order.
        """
        by_item: dict[tuple[str, str], list[int]] = defaultdict(list)
        for position, record in enumerate(records):
            by_item[_key_of(record["dynamodb"]["Keys"])].append(position)
        work = _BatchWork()

        def examine_item(positions: list[int]) -> int | None:
            for position in positions:
                try:
                    self._examine(records[position], position, work)
                except Exception:
                    sequence = _sequence_number(records[position])
                    logger.exception("stream record not handled", extra={"sequence": sequence})
                    return position
            return None

        if len(by_item) == 1 or self._workers == 1:
            failed = [examine_item(positions) for positions in by_item.values()]
        else:
            with ThreadPoolExecutor(min(self._workers, len(by_item))) as pool:
                failed = list(pool.map(examine_item, by_item.values()))
        first = min((position for position in failed if position is not None), default=None)
        try:
            for namespace, proofs in work.additions.items():
                with contextlib.suppress(NamespaceNotFoundError):  # deleted meanwhile
                    RegistryRepairs(self._table, namespace).register_existing(proofs)
            self._publish(sorted(work.events, key=lambda pending: pending.position))
        except Exception:
            logger.exception("stream batch not healed or published")
            first = 0
        return [] if first is None else [_sequence_number(records[first])]

    def _examine(self, record: StreamRecord, position: int, work: _BatchWork) -> None:
        """Heal a removal now; note an addition and a change event for the whole batch."""
        change = record["dynamodb"]
        target = self._table.layout.stream_target(change["Keys"])
        namespace = None if target is None else self._namespace(target.prefix)
        # Not a resource's or a registry's item; or of a namespace deleted since, of which
        # nothing is served (and nothing to heal).
        if target is None or namespace is None:
            return
        try:
            if target.resource is None:
                self._examine_registry(namespace, change, work)
            elif RESOURCE_NAME_PATTERN.fullmatch(target.resource):  # else never registered
                self._examine_resource(namespace, target.resource, record, position, work)
        except NamespaceNotFoundError:
            return  # deleted while the repair was being made

    def _examine_registry(self, namespace: Namespace, change: Any, work: _BatchWork) -> None:
        """Check each name another writer added to or removed from a registry."""
        old, new = change.get("OldImage"), change.get("NewImage")
        if _write_mark(old, new) is not None:
            return  # the service's own change: made consistent with the items it read
        for resource in _changed_names(old, new):
            self._heal(self._snapshot(namespace, resource), work)

    def _examine_resource(
        self,
        namespace: Namespace,
        resource: str,
        record: StreamRecord,
        position: int,
        work: _BatchWork,
    ) -> None:
        change = record["dynamodb"]
        old, new = change.get("OldImage"), change.get("NewImage")
        limits = self._table.layout.limits_change(old, new)
        mark = _write_mark(old, new) if limits is not None else None
        snapshot = self._snapshot(namespace, resource, published=limits is not None, audit=mark)
        self._heal(snapshot, work)
        sequence = int(_sequence_number(record))
        if limits is None or sequence <= snapshot.last_published:
            return  # no change of defaults, or published when this record came the first time
        before, after = limits
        writer, principal, event_id = WRITER_OTHER, None, None
        if snapshot.audit is not None:  # the mark is the id of the service's audit event
            writer, event_id = WRITER_SERVICE, mark
            principal = snapshot.audit.get(schema.ATTR_PRINCIPAL, {}).get("S")
        when = iso_time(float(change.get("ApproximateCreationDateTime", 0)))
        event = ChangeEvent(
            namespace.name, resource, before, after, writer, principal, event_id, when
        )
        work.publish(_PendingEvent(position, namespace, resource, sequence, event))

    def _publish(self, pending: list[_PendingEvent]) -> None:
        """Publish the batch's change events in order, then mark each resource's as published."""
        if not pending:
            return
        self._publisher.publish([event.event for event in pending])
        for event in pending:
            self._marks.mark(event.namespace, event.resource, event.sequence)

    def _snapshot(
        self,
        namespace: Namespace,
        resource: str,
        *,
        published: bool = False,
        audit: str | None = None,
    ) -> Snapshot:
        """The resource's items, whether its registry lists it and, when asked, its last
        published change and the audit event of id ``audit``: one consistent BatchGetItem where
        one item holds its limits."""
        table, layout = self._table, self._table.layout
        keys = {"registry": layout.registry_key(namespace)}
        if published:
            keys["published"] = schema.published_key(resource, namespace.prefix)
        if audit is not None:
            keys["audit"] = schema.audit_key(resource, audit, namespace.prefix)
        item_key = layout.item_key(namespace, resource)
        if item_key is not None:
            keys["resource"] = item_key
        items = batch_get(table.client, table.name, list(keys.values()), consistent=True)
        by_key = {_key_of(item): item for item in items}
        found = {name: by_key.get(_key_of(key)) for name, key in keys.items()}
        if item_key is not None:
            stored = layout.parse([item] if (item := found["resource"]) else [])
        else:
            stored = layout.read(table, namespace, resource)
        registry = found["registry"] or {}
        mark = (found.get("published") or {}).get(schema.ATTR_SEQUENCE, {}).get("S")
        return Snapshot(
            namespace,
            resource,
            stored,
            resource in registry.get(schema.ATTR_RESOURCES, {}).get("SS", []),
            int(mark) if mark else 0,
            found.get("audit"),
        )

    def _heal(self, snapshot: Snapshot, work: _BatchWork) -> None:
        """Make the registry agree with the resource's items as read, on condition that they
        are still so: a removal at once, an addition with the batch's others."""
        if not RESOURCE_NAME_PATTERN.fullmatch(snapshot.resource):
            return
        layout = self._table.layout
        if snapshot.stored.has_defaults and not snapshot.registered:
            work.add(snapshot.namespace, snapshot.resource, layout.proof(snapshot.stored))
        elif snapshot.registered and not snapshot.stored.has_defaults:
            repairs = RegistryRepairs(self._table, snapshot.namespace)
            repairs.remove_if_still(snapshot.resource, snapshot.stored)

    def _namespace(self, prefix: str) -> Namespace | None:
        if prefix not in self._namespaces:
            self._namespaces[prefix] = self._table.layout.namespace_of_prefix(self._table, prefix)
        return self._namespaces[prefix]


def _write_mark(old: Item | None, new: Item | None) -> str | None:
    """The service's write mark the change put on the item (its audit event's id); None when
    the item carries none, or the one it had (another writer changed it in place)."""
    mark = (new or {}).get(schema.ATTR_WRITE_ID, {}).get("S")
    return None if mark == (old or {}).get(schema.ATTR_WRITE_ID, {}).get("S") else mark


def _key_of(item: Item) -> tuple[str, str]:
    return item[schema.PARTITION_KEY]["S"], item[schema.SORT_KEY]["S"]


def _changed_names(old: Item | None, new: Item | None) -> list[str]:
    """The names a change of a registry item added or removed."""

    def names(image: Item | None) -> set[str]:
        return set((image or {}).get(schema.ATTR_RESOURCES, {}).get("SS", []))

    return sorted(names(old) ^ names(new))


def _sequence_number(record: StreamRecord) -> str:
    return str(record["dynamodb"]["SequenceNumber"])
