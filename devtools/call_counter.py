"""Counting the DynamoDB operations a client sends: the call-count tests and the race harness."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CallCounter:
    """Counts the DynamoDB operations a client sends, by name (each once, however often botocore
    resends it)."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    @property
    def total(self) -> int:
        """Every operation counted, whatever its name."""
        with self._lock:
            return sum(self.calls.values())

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
