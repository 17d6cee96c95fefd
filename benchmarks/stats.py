"""Order statistics and a monotonic stopwatch."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: with fewer than 100 samples, p99 is the slowest one."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def p99(samples: Sequence[float]) -> float:
    return percentile(samples, 99)


def elapsed_ms(action: Callable[[], object]) -> float:
    """Milliseconds that ``action`` took."""
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000
