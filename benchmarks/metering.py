"""What a client's DynamoDB calls cost, observed through botocore's event hooks.

The hooks leave the code under test untouched: the store and the handlers make their usual calls,
and the meter only adds ReturnConsumedCapacity=TOTAL so DynamoDB reports what each call consumed.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from benchmarks.item_size import item_size, transactional_write_units
from resource_registry import schema

READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
TRANSACTION_CONFLICT_CODES = (
    "TransactionCanceledException",
    "TransactionConflictException",
    "TransactionInProgressException",
)


@dataclass
class Usage:
    """The calls a client made in a window and the capacity DynamoDB reported for them."""

    calls: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)  # by error code

    @property
    def transaction_conflicts(self) -> int:
        """Transactions that lost to another: each one the store retries."""
        return sum(self.errors[code] for code in TRANSACTION_CONFLICT_CODES)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def describe_calls(self) -> str:
        """E.g. "Query 1 + TransactWriteItems 1"."""
        return " + ".join(f"{name} {count}" for name, count in sorted(self.calls.items()))


class DynamoDBMeter:
    """Counts one client's DynamoDB calls and sums the capacity they consumed; thread-safe."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", _ask_for_consumed_capacity)
        events.register("before-call.dynamodb.*", self._count_call)
        events.register("after-call.dynamodb.*", self._add_consumed_capacity)

    def take(self) -> Usage:
        """The usage since the last take, and a fresh window from now."""
        with self._lock:
            usage, self._usage = self._usage, Usage()
        return usage

    def _count_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self._usage.calls[model.name] += 1

    def _add_consumed_capacity(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity", [])
        # Single-item calls report one entry; batches and transactions report one per table.
        entries = consumed if isinstance(consumed, list) else [consumed]
        units = sum(entry.get("CapacityUnits", 0.0) for entry in entries)
        error_code = parsed.get("Error", {}).get("Code")
        with self._lock:
            if error_code:
                self._usage.errors[error_code] += 1
            if model.name in READ_OPERATIONS:
                self._usage.read_units += units
            else:
                self._usage.write_units += units


class TransactionBiller:
    """What AWS would bill a client's transactions, from the sizes of the items they touch.

    Before each TransactWriteItems it reads every item the transaction names, and after it commits
    reads them again: AWS bills two write units per KB of the larger image of each item. The
    reads go through ``inspector``, another client, so they stay out of the meters.
    """

    def __init__(self, client: Any, inspector: Any) -> None:
        self._inspector = inspector
        self._lock = threading.Lock()
        self._billed = 0
        self._billed_audit = 0
        events = client.meta.events
        events.register("before-parameter-build.dynamodb.TransactWriteItems", self._read_before)
        events.register("after-call.dynamodb.TransactWriteItems", self._bill)

    def take(self) -> tuple[int, int]:
        """Write units billed since the last take, and how many of them wrote audit events."""
        with self._lock:
            billed, self._billed = self._billed, 0
            audit, self._billed_audit = self._billed_audit, 0
        return billed, audit

    def _read_before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        targets = [_target(action) for action in params.get("TransactItems", [])]
        # The request context travels from this hook to the after-call hook of the same call.
        context["bench_targets"] = [(table, key, self._size(table, key)) for table, key in targets]

    def _bill(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            return
        targets = context.pop("bench_targets", [])
        sizes = [max(before, self._size(table, key)) for table, key, before in targets]
        audit = [
            size
            for (_, key, _), size in zip(targets, sizes, strict=True)
            if key[schema.SORT_KEY]["S"].startswith(schema.AUDIT_SORT_PREFIX)
        ]
        with self._lock:
            self._billed += transactional_write_units(sizes)
            self._billed_audit += transactional_write_units(audit)

    def _size(self, table: str, key: dict[str, Any]) -> int:
        item = self._inspector.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item_size(item) if item else 0


def _ask_for_consumed_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _target(action: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The table and key of one transaction action (Put names its item, the others a Key)."""
    ((_kind, body),) = action.items()
    if "Key" in body:
        return body["TableName"], body["Key"]
    item = body["Item"]
    key = {name: item[name] for name in (schema.PARTITION_KEY, schema.SORT_KEY)}
    return body["TableName"], key
