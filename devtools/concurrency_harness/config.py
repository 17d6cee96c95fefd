"""How long and how hard a run goes, and the resources its writers share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HarnessConfig:
    """How long and how hard to run."""

    seconds: float = 30.0
    writers: int = 8
    resources: int = 6
    checkpoint_every_seconds: float = 2.0
    if_match_probability: float = 0.3
    max_limits: int = 4
    reconciler_page_size: int = 3
    seed: int = 0
    # zae-limiter-like writers (interrupted sets and deletes) and the healer that must undo what
    # they leave: composite layouts only (zae-limiter 0.8 and later).
    foreign_writers: int = 0


def resource_pool(config: HarnessConfig) -> list[str]:
    return [f"res-{index}" for index in range(config.resources)]
