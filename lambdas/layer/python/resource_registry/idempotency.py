"""Idempotent writes: a retry with the same key and request answers what the first attempt did.

A write that carries a key commits, in its own transaction, a record of its answer under that key
(a bookkeeping item of this service's, in a partition zae-limiter never reads, expiring after 24
hours). A retry finds the record and answers from it without writing; the same key with another
request is IdempotencyKeyReusedError. A write without a key costs nothing more.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import IdempotencyKeyReusedError
from resource_registry.layouts.base import Action
from resource_registry.model import Namespace, ResourceDefaults
from resource_registry.records import Record

if TYPE_CHECKING:
    from resource_registry.table import Table

# How long a key answers for its first attempt (as Stripe's and the AWS APIs' client tokens do).
RETENTION_SECONDS = 24 * 60 * 60


class IdempotentRequest(Record):
    """A write's idempotency key, and a fingerprint of what it asks (method, target, body)."""

    __slots__ = ("key", "fingerprint")
    key: Final[str]
    fingerprint: Final[str]

    def __init__(self, key: str, fingerprint: str) -> None:
        self.key = key
        self.fingerprint = fingerprint


class RecordedAnswer(Record):
    """What a write with a key answered: the defaults it set, or None for a delete."""

    __slots__ = ("defaults",)
    defaults: Final[ResourceDefaults | None]

    def __init__(self, defaults: ResourceDefaults | None) -> None:
        self.defaults = defaults


class IdempotencyRecords:
    """Reads and writes the answer records of one table."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def recorded(self, namespace: Namespace, request: IdempotentRequest) -> RecordedAnswer | None:
        """The answer a live record holds for ``request``'s key; None if there is none.

        IdempotencyKeyReusedError when the key was used for another request.
        """
        response = call_dynamodb(
            self._table.client.get_item,
            TableName=self._table.name,
            Key=_key(namespace, request),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None or int(item[schema.ATTR_TTL]["N"]) <= self._clock():
            return None  # expired records linger until DynamoDB's TTL deletes them
        if item[schema.ATTR_FINGERPRINT]["S"] != request.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was used in the last 24 hours for another request; use a "
                "new key for a new request"
            )
        return _answer(item)

    def record_action(
        self, namespace: Namespace, request: IdempotentRequest, answer: RecordedAnswer
    ) -> Action:
        """The Put of ``answer``'s record, for the write's own transaction. It fails the
        transaction while another attempt's live record holds the key."""
        now = int(self._clock())
        item: dict[str, Any] = {
            **_key(namespace, request),
            schema.ATTR_FINGERPRINT: {"S": request.fingerprint},
            schema.ATTR_ANSWER: {"S": json.dumps(_plain(answer))},
            schema.ATTR_TTL: {"N": str(now + RETENTION_SECONDS)},
        }
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#pk) OR #ttl <= :now",
                "ExpressionAttributeNames": {
                    "#pk": schema.PARTITION_KEY,
                    "#ttl": schema.ATTR_TTL,
                },
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }
        }


def _key(namespace: Namespace, request: IdempotentRequest) -> schema.Key:
    # The key as the client sent it may be any printable text; its digest is a safe key string.
    digest = hashlib.sha256(request.key.encode()).hexdigest()
    return schema.idempotency_key(digest, namespace.prefix)


def _plain(answer: RecordedAnswer) -> dict[str, Any] | None:
    defaults = answer.defaults
    if defaults is None:
        return None
    # Numbers of a write through the API are integers: plain JSON holds them exactly.
    return {
        "resource": defaults.resource,
        "version": defaults.version,
        "etag": defaults.etag,
        "limits": list(defaults.shown),
    }


def _answer(item: dict[str, Any]) -> RecordedAnswer:
    plain = json.loads(item[schema.ATTR_ANSWER]["S"])
    if plain is None:
        return RecordedAnswer(None)
    defaults = ResourceDefaults(
        plain["resource"], (), plain["version"], plain["etag"], tuple(plain["limits"])
    )
    return RecordedAnswer(defaults)
