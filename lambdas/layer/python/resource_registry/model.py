"""The values the store reads and writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    """One default limit of a resource, with every default already applied."""

    name: str
    capacity: int
    burst: int
    refill_amount: int
    refill_period_seconds: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Precondition:
    """What a write requires first: that the resource has defaults and, when ``versions`` is not
    empty, that its version is one of them."""

    versions: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ResourceDefaults:
    """A resource's whole set of default limits, sorted by name, and the version it was read at."""

    resource: str
    limits: tuple[Limit, ...]
    version: int
