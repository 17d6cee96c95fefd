"""Audit events in zae-limiter's own item layout: written in the same transaction as each change,
and read back newest first, a page at a time.

zae-limiter's `get_audit_events("$RESOURCE:{name}")` reads them next to its own. Each namespace's
retention comes from its system config item (`audit_retention_days`, zae-limiter 0.8 and later),
read once per process; 90 days where there is none.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import InvalidInputError
from resource_registry.layouts.base import Action
from resource_registry.model import Limit, Namespace, stored_number
from resource_registry.records import Record
from resource_registry.ulid import is_ulid, new_ulid

if TYPE_CHECKING:
    from resource_registry.table import Table

DEFAULT_RETENTION_DAYS = 90
SECONDS_PER_DAY = 86_400
MIN_PAGE, MAX_PAGE, DEFAULT_PAGE = 1, 100, 20


class AuditEvent(Record):
    """One change to a resource's defaults, by this service or by zae-limiter."""

    __slots__ = ("event_id", "timestamp", "action", "principal", "limits")
    event_id: Final[str]
    timestamp: Final[str]
    action: Final[str]
    principal: Final[str | None]
    limits: Final[tuple[dict[str, Any], ...]]

    def __init__(
        self,
        event_id: str,
        timestamp: str,
        action: str,
        principal: str | None,
        limits: tuple[dict[str, Any], ...],
    ) -> None:
        self.event_id = event_id
        self.timestamp = timestamp
        self.action = action
        self.principal = principal
        self.limits = limits

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "timestamp": self.timestamp,
            "action": self.action,
            "principal": self.principal,
            "limits": list(self.limits),
        }


class HistoryPage(Record):
    """Events newest first, and the cursor of the next page (None on the last)."""

    __slots__ = ("events", "next_cursor")
    events: Final[tuple[AuditEvent, ...]]
    next_cursor: Final[str | None]

    def __init__(self, events: tuple[AuditEvent, ...], next_cursor: str | None) -> None:
        self.events = events
        self.next_cursor = next_cursor


class AuditTrail:
    """Builds the audit event of a change and reads a resource's events, over one table."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock
        self._retention_days: dict[str, int] = {}

    def new_event(
        self,
        namespace: Namespace,
        resource: str,
        action: str,
        principal: str | None,
        limits: Sequence[Limit] = (),
    ) -> tuple[str, Action]:
        """A new audit event's id, and its Put for the change's own transaction."""
        now = self._clock()
        event_id = new_ulid(int(now * 1000))
        layout = self._table.layout
        pk = schema.audit_pk(resource, namespace.prefix)
        details: dict[str, Any] = {}
        if limits:
            shown = [layout.shown(limit) for limit in limits]
            details["limits"] = {"L": [{"M": _typed(limit)} for limit in shown]}
        ttl = int(now) + self.retention_days(namespace) * SECONDS_PER_DAY
        item: dict[str, Any] = {
            schema.PARTITION_KEY: {"S": pk},
            schema.SORT_KEY: {"S": schema.audit_sk(event_id)},
            schema.ATTR_ENTITY_ID: {"S": schema.resource_entity_id(resource)},
            schema.ATTR_EVENT_ID: {"S": event_id},
            schema.ATTR_TIMESTAMP: {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))},
            schema.ATTR_ACTION: {"S": action},
            schema.ATTR_PRINCIPAL: {"S": principal} if principal else {"NULL": True},
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_DETAILS: {"M": details},
            schema.ATTR_TTL: {"N": str(ttl)},
            **layout.audit_keys(namespace, pk),
        }
        return event_id, {"Put": {"TableName": self._table.name, "Item": item}}

    def retention_days(self, namespace: Namespace) -> int:
        """The namespace's audit retention: its system config's, else 90 days (read once)."""
        key = self._table.layout.audit_retention_key(namespace)
        if key is None:
            return DEFAULT_RETENTION_DAYS
        if namespace.prefix not in self._retention_days:
            response = call_dynamodb(
                self._table.client.get_item,
                TableName=self._table.name,
                Key=key,
                ProjectionExpression="#days",
                ExpressionAttributeNames={"#days": schema.ATTR_AUDIT_RETENTION_DAYS},
            )
            days = response.get("Item", {}).get(schema.ATTR_AUDIT_RETENTION_DAYS, {}).get("N")
            self._retention_days[namespace.prefix] = int(days) if days else DEFAULT_RETENTION_DAYS
        return self._retention_days[namespace.prefix]

    def history(
        self,
        namespace: Namespace,
        resource: str,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> HistoryPage:
        """One page of a resource's events, newest first: one Query."""
        if not MIN_PAGE <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be {MIN_PAGE} to {MAX_PAGE}")
        pk = schema.audit_pk(resource, namespace.prefix)
        query: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :events)",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":events": {"S": schema.AUDIT_SORT_PREFIX},
            },
            "ScanIndexForward": False,
            # One more than the page: a cursor only when an event follows it, so a page that
            # the events fill exactly is the last, with no cursor to an empty one.
            "Limit": limit + 1,
        }
        if cursor is not None:
            query["ExclusiveStartKey"] = {
                schema.PARTITION_KEY: {"S": pk},
                schema.SORT_KEY: {"S": schema.audit_sk(_event_of(cursor))},
            }
        response = call_dynamodb(self._table.client.query, **query)
        items = response.get("Items", [])
        events = tuple(_event(item) for item in items[:limit])
        next_cursor = None
        if len(items) > limit:
            next_cursor = _cursor(events[-1].event_id)
        elif (last := response.get("LastEvaluatedKey")) is not None:
            # DynamoDB stopped at its 1 MB page size before the page was full.
            event_id = last[schema.SORT_KEY]["S"].removeprefix(schema.AUDIT_SORT_PREFIX)
            next_cursor = _cursor(event_id)
        return HistoryPage(events, next_cursor)


def _typed(value: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"S": item} if isinstance(item, str) else {"N": str(item)}
        for key, item in value.items()
    }


def _event(item: dict[str, Any]) -> AuditEvent:
    def text(attribute: str) -> str | None:
        value = item.get(attribute, {})
        return str(value["S"]) if "S" in value else None

    limits = item.get(schema.ATTR_DETAILS, {}).get("M", {}).get("limits", {}).get("L", [])
    return AuditEvent(
        event_id=text(schema.ATTR_EVENT_ID) or "",
        timestamp=text(schema.ATTR_TIMESTAMP) or "",
        action=text(schema.ATTR_ACTION) or "",
        principal=text(schema.ATTR_PRINCIPAL),
        limits=tuple(_untyped(limit.get("M", {})) for limit in limits),
    )


# A limit's fields in the order the API shows them; others (zae-limiter's) after, by name.
FIELD_ORDER = ("name", "capacity", "burst", "refill_amount", "refill_period_seconds")


def _untyped(value: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    ordered = sorted(
        value.items(),
        key=lambda pair: (FIELD_ORDER.index(pair[0]) if pair[0] in FIELD_ORDER else 99, pair[0]),
    )
    for key, typed in ordered:
        if "S" in typed:
            plain[key] = typed["S"]
        elif "N" in typed:
            plain[key] = stored_number(typed["N"])
    return plain


def _cursor(event_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": event_id}).encode()).decode("ascii")


def _event_of(cursor: str) -> str:
    """The event a cursor this API issued resumes after; InvalidInputError for any other."""
    try:
        event_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))["after"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
        event_id = None
    if not isinstance(event_id, str) or not is_ulid(event_id):
        raise InvalidInputError("cursor is not one this API issued: send next_cursor as it came")
    return event_id
