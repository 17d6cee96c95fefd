"""Change events: one per change of a resource's defaults, whoever made it (docs/contract.md,
section 5), and the mark that keeps a redelivered stream record from publishing one twice.

The event's schema is docs/events/resource-defaults-changed.schema.json.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from resource_registry import json_text, schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import ServiceUnavailableError
from resource_registry.model import Namespace
from resource_registry.records import Record

if TYPE_CHECKING:
    from resource_registry.table import Table

# The healer function's setting: the name (or ARN) of the bus its change events go to.
EVENT_BUS_VARIABLE = "EVENT_BUS_NAME"
SOURCE = "resource-registry"
DETAIL_TYPE = "Resource defaults changed"
# Who made a change: this service (its API), or any other writer (zae-limiter, a console edit).
WRITER_SERVICE = "resource-registry"
WRITER_OTHER = "other"
# EventBridge's PutEvents takes at most this many entries a call.
PUT_EVENTS_ENTRIES = 10
# Stream sequence numbers are up to 40 digits: padded, they compare as text in a condition.
SEQUENCE_DIGITS = 40
# How long a mark outlives its last publish. A stream keeps a record 24 hours (and the stack's
# mapping gives up on one after an hour), so no record a mark guards against can come later; then
# DynamoDB's TTL removes the mark, which nothing else would (it has no GSI4 keys, so zae-limiter's
# purge_namespace does not find it).
MARK_RETENTION_SECONDS = 2 * 24 * 3600

Limits = list[dict[str, Any]] | None


class ChangeEvent(Record):
    """One change of a resource's defaults, as its event's detail says it."""

    __slots__ = (
        "namespace",
        "resource",
        "before",
        "after",
        "writer",
        "principal",
        "audit_event_id",
        "time",
    )
    namespace: Final[str]
    resource: Final[str]
    before: Final[Limits]  # None: the resource had no defaults
    after: Final[Limits]  # None: it has none now
    writer: Final[str]
    principal: Final[str | None]  # who asked the service; None for another writer
    audit_event_id: Final[str | None]
    time: Final[str]  # ISO 8601, UTC: when the change reached the table's stream

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        namespace: str,
        resource: str,
        before: Limits,
        after: Limits,
        writer: str,
        principal: str | None,
        audit_event_id: str | None,
        time: str,
    ) -> None:
        self.namespace = namespace
        self.resource = resource
        self.before = before
        self.after = after
        self.writer = writer
        self.principal = principal
        self.audit_event_id = audit_event_id
        self.time = time

    def detail(self) -> dict[str, Any]:
        """The event's detail (its numbers exact: json_text writes them)."""
        return {name: getattr(self, name) for name in self.__slots__}


class Publisher(Protocol):
    """Where change events go: EventBridge in AWS, a file on a laptop."""

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Publish ``events``, all or none (an error for any not published)."""


class EventBridgePublisher:
    """Puts change events on an EventBridge bus."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        for start in range(0, len(events), PUT_EVENTS_ENTRIES):
            self._put(events[start : start + PUT_EVENTS_ENTRIES])

    def _put(self, events: Sequence[ChangeEvent]) -> None:
        entries = [
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json_text.dumps(event.detail()),
                "EventBusName": self._bus_name,
            }
            for event in events
        ]
        response = self._client.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            raise ServiceUnavailableError("EventBridge did not take every change event; try again")


def iso_time(epoch_seconds: float) -> str:
    """An ISO 8601 UTC time, to the second, from epoch seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


class PublishedMarks:
    """The stream position of each resource's last published change event (the healer reads it
    with the resource's items)."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table, self._clock = table, clock

    def mark(self, namespace: Namespace, resource: str, sequence: int) -> None:
        """Record that the change at ``sequence`` was published (a later mark stays)."""
        padded = str(sequence).zfill(SEQUENCE_DIGITS)
        # A later change's mark may be there already: it stays.
        with contextlib.suppress(self._table.client.exceptions.ConditionalCheckFailedException):
            call_dynamodb(
                self._table.client.update_item,
                TableName=self._table.name,
                Key=schema.published_key(resource, namespace.prefix),
                UpdateExpression="SET #sequence = :sequence, #ttl = :expires",
                ConditionExpression="attribute_not_exists(#sequence) OR #sequence < :sequence",
                ExpressionAttributeNames={
                    "#sequence": schema.ATTR_SEQUENCE,
                    "#ttl": schema.ATTR_TTL,
                },
                ExpressionAttributeValues={
                    ":sequence": {"S": padded},
                    ":expires": {"N": str(int(self._clock()) + MARK_RETENTION_SECONDS)},
                },
            )
