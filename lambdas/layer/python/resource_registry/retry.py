"""Bounded retries with capped exponential backoff and full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try an optimistic write, and how long to wait between tries."""

    max_attempts: int = 8
    base_delay_seconds: float = 0.02
    max_delay_seconds: float = 0.5
    # No new try starts after this long, so an API write answers inside its Lambda timeout.
    max_elapsed_seconds: float = 4.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def pause(self, attempt: int) -> None:
        """Sleep before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        self.sleep(random.uniform(0, ceiling))
