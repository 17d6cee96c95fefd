"""What a writer's DynamoDB client did: transactions, their cancellations, botocore's resends."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from devtools.call_counter import CallCounter


class TransactionObserver:
    """Counts a client's transactions, their cancellations, and botocore's own resends."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self._calls = CallCounter(client)
        self.sends = 0
        self.transactions = 0
        self.cancelled = 0
        self.reasons: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._send)
        client.meta.events.register("after-call.dynamodb.TransactWriteItems", self._transaction)

    def counts(self) -> dict[str, Any]:
        return {
            "transactions": self.transactions,
            "cancelled": self.cancelled,
            "reasons": dict(self.reasons),
            "botocore_retries": self.sends - self._calls.total,
        }

    def _send(self, **_: Any) -> None:
        with self._lock:
            self.sends += 1

    def _transaction(self, parsed: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.transactions += 1
            if parsed.get("Error", {}).get("Code") != "TransactionCanceledException":
                return
            self.cancelled += 1
            for reason in parsed.get("CancellationReasons", []):
                if reason.get("Code", "None") != "None":
                    self.reasons[reason["Code"]] += 1
