"""Bounded retries with capped exponential backoff and full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from resource_registry.dynamodb import RetryableWriteError
from resource_registry.errors import ConcurrentUpdateError, ServiceUnavailableError
from resource_registry.records import Record

T = TypeVar("T")


class RetryPolicy(Record):
    """How many times to try an optimistic write, and how long to wait between tries."""

    __slots__ = (
        "max_attempts",
        "base_delay_seconds",
        "max_delay_seconds",
        "max_elapsed_seconds",
        "sleep",
        "clock",
    )
    _uncompared = frozenset({"sleep", "clock"})  # policies with the same bounds are equal
    max_attempts: Final[int]
    base_delay_seconds: Final[float]
    max_delay_seconds: Final[float]
    # No new try starts after this long, so an API write answers inside its Lambda timeout.
    max_elapsed_seconds: Final[float]
    sleep: Final[Callable[[float], None]]
    clock: Final[Callable[[], float]]

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        max_attempts: int = 8,
        base_delay_seconds: float = 0.02,
        max_delay_seconds: float = 0.5,
        max_elapsed_seconds: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        self.max_elapsed_seconds = max_elapsed_seconds
        self.sleep = sleep
        self.clock = clock

    def pause(self, attempt: int) -> None:
        """Sleep before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        self.sleep(random.uniform(0, ceiling))


def with_retries(policy: RetryPolicy, operation: Callable[[], T]) -> T:
    """Run ``operation`` until it does not lose a race, within ``policy``'s bounds.

    When the tries run out: ServiceUnavailableError if DynamoDB was throttling, else
    ConcurrentUpdateError.
    """
    deadline = policy.clock() + policy.max_elapsed_seconds
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return operation()
        except RetryableWriteError as retry:
            last_failure = retry
        if attempt == policy.max_attempts:
            break
        policy.pause(attempt)
        if policy.clock() >= deadline:
            break
    if last_failure.throttled:
        raise ServiceUnavailableError("DynamoDB is throttling or unavailable; try again") from (
            last_failure
        )
    raise ConcurrentUpdateError("the write kept losing to concurrent writers; try again") from (
        last_failure
    )
